"""Portal routes by area: auth (login, logout, language), jobs, members, admin."""
