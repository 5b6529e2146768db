"""Every read of the quarantine app, already scoped, one module per topic (`sites`, `staff`, `placement`)."""
