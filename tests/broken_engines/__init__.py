"""Small micrograd-style engines for ``check_engine``'s tests: one right, the others each with
one of the faults learners make (see ``engines.py``)."""
