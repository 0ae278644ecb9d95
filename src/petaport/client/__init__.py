"""Typed HTTP SDK for the Petaport API (sync, over httpx).

    from petaport.client import PetaportClient
    with PetaportClient("http://127.0.0.1:8000", token="tok_...") as api:
        job = api.submit_job(JobCreate(name="t", project="harbour-u/llm-pretrain",
                                       command=["nvidia-smi"], gpus=1))
        for text in api.follow_logs(job.id):
            print(text, end="")

The client imports only ``petaport.schemas`` and ``petaport.domain`` from this package, never
the server side.
"""

from petaport.client.client import PetaportClient
from petaport.client.config import ClientConfig, clear_token, load_config, save_config
from petaport.client.errors import (
    ClientError,
    ConfigError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotLoggedIn,
    PetaportError,
    Unauthenticated,
)
from petaport.client.jobs import TERMINAL, is_terminal

__all__ = [
    "TERMINAL",
    "ClientConfig",
    "ClientError",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "NotLoggedIn",
    "PetaportClient",
    "PetaportError",
    "Unauthenticated",
    "clear_token",
    "is_terminal",
    "load_config",
    "save_config",
]
