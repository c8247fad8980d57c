"""Kervan's use cases: each is one function `(uow, caller, command)` that opens its unit of work
(store.uow.UnitOfWork), checks who is calling, decides, and commits when its block ends.
Transactions and authorisation live here, once; SQL lives behind the repositories the unit of
work carries."""
