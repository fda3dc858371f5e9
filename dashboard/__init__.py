"""The Streamlit dashboard: it only reads the database.

``app.py`` is the entry script (``streamlit run``), ``app_pages/`` holds
one script per page, ``queries`` loads and shapes (cached) what the pages
show, ``charts`` draws it with Altair and ``tables`` says how tables look.
Pages hold no SQL and no pandas: they read like a description of the UI.
"""
