"""Pure money core: price book, metering, rating, ledger, budgets, invoices, estimates, plans.

No I/O and no clock: every function takes an explicit ``now`` where time matters. The services
load state, call these functions and store what they return; the simulator can call them too.
Amounts are ``petaport.domain.money.Money`` (Decimal cents, HKD); exact intermediate values are
Fractions, rounded to cents in one place (``rating``).
"""
