"""Benchmarks: instantly-sync measured against naive baselines in one run (`make bench`)."""

from sql.queries import add_dev_queries

add_dev_queries()  # the benchmarks' queries live in sql/dev (not shipped)
