"""The database: tables, engine set-up, migrations and the queries the stages need.

Nothing outside this package writes SQL. It must not fetch, parse or send anything.
"""
