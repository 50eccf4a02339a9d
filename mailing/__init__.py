"""Paper response mailings end to end.

The package holds the domain model and the store; `layouts` renders letters, `scanning` reads returned
coupons, `reports` writes Excel workbooks. Logging policy (see `mailing.log`): error = unusable input,
warning = a skipped row or page with its location, info = progress. The library never prints.
"""

__version__ = "0.1.0"
