"""SQLite storage: the only package that speaks SQL.

``db`` opens a database (read-write with migrations, or strictly read-only),
``schema`` holds the migrations, ``feeds`` and ``items`` hold the writes and
reads of their tables, ``queries`` the reads behind indicators and the
dashboard. Every function takes an open ``sqlite_utils.Database``.
"""
