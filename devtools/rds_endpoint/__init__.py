"""Embedded AWS endpoint for developing mitosis.rds: moto's server with RDS corrections, a time
model, fault injection, a record of every call and a control API. See README.md."""
