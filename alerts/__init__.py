"""Alert rules, their evaluation, email rendering and delivery.

``rules`` validates the ``[[alerts]]`` tables, ``checks`` says what each
kind of rule finds at a moment, ``evaluate.run_alerts`` records each alert
once and delivers it, ``render`` builds the email, ``chart`` draws its PNG,
``deliver`` speaks SMTP (or writes the outbox), ``backtest`` replays a rule
over stored history and ``schedule`` adds the collector's alert jobs.
Every SQL statement lives in ``storage.alert_store``.
"""
