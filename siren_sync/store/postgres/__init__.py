"""The PostgreSQL backend: siren-sync's state in a database shared by many sites and workers.

Split by question: `url.py` (the URL as given and as shown), `schema.py` (the tables and their
migrations), `connection.py` (one connection, again after it was lost), `locks.py` (the write and
leader locks of a namespace), `commit.py` (the rows of one commit), `leader.py` (one worker leads,
fenced), `store.py` (the store). psycopg 3 is an optional dependency (`siren-sync[postgres]`):
only `url.py` may be imported without it.
"""
