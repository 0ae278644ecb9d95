"""``PetaportClient``: every endpoint of the Petaport API as a typed method.

Results are the pydantic models of ``petaport.schemas``; failures raise the classes in
``petaport.client.errors``. The class is assembled from one mixin per API area.
"""

from __future__ import annotations

from collections.abc import Mapping

from petaport.client.auth import AuthApi
from petaport.client.catalogue import CatalogueApi
from petaport.client.config import load_config
from petaport.client.grants import GrantsApi
from petaport.client.inventory import InventoryApi
from petaport.client.invoices import InvoicesApi
from petaport.client.jobs import JobsApi
from petaport.client.money import MoneyApi
from petaport.client.quotas import QuotasApi
from petaport.client.slurm import SlurmApi
from petaport.client.subsidy import SubsidyApi
from petaport.client.tenancy import TenancyApi
from petaport.client.transport import DEFAULT_TIMEOUT_S


class PetaportClient(AuthApi, TenancyApi, InventoryApi, JobsApi, QuotasApi, MoneyApi, InvoicesApi,
                     SlurmApi, CatalogueApi, GrantsApi, SubsidyApi):  # fmt: skip
    """A synchronous client: ``PetaportClient(base_url, token=None, timeout=30.0)``.

    Use it as a context manager (or call ``close()``) to release the connection pool.
    """

    @classmethod
    def from_config(
        cls, env: Mapping[str, str] | None = None, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> PetaportClient:
        """A client for the stored URL and token (``PETAPORT_URL``/``PETAPORT_TOKEN`` win)."""
        config = load_config(env)
        return cls(config.url, config.token, timeout=timeout)
