from tests.test_permission_matrix import world  # noqa: F401 - the matrix's records, shared with the masking scan
