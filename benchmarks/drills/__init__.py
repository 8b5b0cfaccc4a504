"""Fault drills against the real service (`sportello serve` as a subprocess on loopback):

    .venv/bin/python -m benchmarks.drills [kill9 postgres_restart disk_full] [--json reports/drills.json]

Each drill prints its result in one table row (drill → passed or FAILED, with what was lost,
doubled and seen) and all the numbers go to the JSON file. The fast drills (a database cut
mid-turn, a full SQLite file, a receiver down for an hour of simulated time) are tests:
tests/api/test_faults.py, test_disk_full.py, test_receiver_outage.py.
"""
