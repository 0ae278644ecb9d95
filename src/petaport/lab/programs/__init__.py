"""Programs AI Lab templates run inside jobs (NumPy, mpi4py). The server never imports them."""
