# Person data is deliberately not in the Django admin: the admin bypasses jurisdiction scope, masking and the
# audited services. It is for reference data only (divisions, organisations, users, tokens; see core/admin.py).
