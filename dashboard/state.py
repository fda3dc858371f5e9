"""Filters in the URL: every page's choices live in the query string, so a view can be
bookmarked and shared.

Before drawing its widgets a page calls ``restore`` for each one: on the
first run of a session the value comes from the URL (checked against the
allowed options; anything else is dropped), else from the default. Widgets
are then created with only their ``key`` (their value lives in session
state). After the widgets, ``publish`` writes the values that differ from
their defaults back into the URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st


def restore(key: str, default: Any, options: Sequence[Any] | None = None) -> None:
    """Seed ``st.session_state[key]`` from the URL or ``default`` (once per session).

    A list default makes a multi-valued parameter (``?dyads=a-b&dyads=c-d``).
    Values not in ``options`` (when given) are ignored.
    """
    if key in st.session_state:
        return
    value: Any = default
    if key in st.query_params:
        if isinstance(default, list):
            wanted = st.query_params.get_all(key)
            value = [v for v in wanted if options is None or v in options]
        else:
            text = st.query_params.get(key, "")
            if isinstance(default, bool):
                value = text in ("1", "true", "yes")
            elif options is None or text in options:
                value = text
    st.session_state[key] = value


def publish(defaults: Mapping[str, Any]) -> None:
    """Put every key of ``defaults`` whose value differs from its default into the URL,
    and only those (a clean URL for the default view)."""
    wanted: dict[str, str | list[str]] = {}
    for key, default in defaults.items():
        value = st.session_state.get(key, default)
        if value == default or value is None:
            continue
        if isinstance(value, bool):
            wanted[key] = "1" if value else "0"
        elif isinstance(value, list | tuple):
            wanted[key] = [str(v) for v in value]
        else:
            wanted[key] = str(value)
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    normal = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if current != normal:
        st.query_params.from_dict(wanted)
