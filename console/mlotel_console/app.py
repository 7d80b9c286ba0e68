"""The console's entry point (``mlotel-console``, or ``streamlit run console/mlotel_console/app.py``):
the page list with their stable URLs. Each page is its own script in ``views/``: not
``pages/``, which Streamlit would also serve by itself as the old kind of multipage app,
without this navigation, to the first visitor of a deep link like ``/slow``."""

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="mlotel console", page_icon=":material/monitoring:", layout="wide")
navigation = st.navigation([
    st.Page(VIEWS / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(VIEWS / "models.py", title="Models", icon=":material/model_training:", url_path="models"),
    st.Page(VIEWS / "slow.py", title="Slow predictions", icon=":material/speed:", url_path="slow"),
    st.Page(VIEWS / "trace.py", title="Trace", icon=":material/account_tree:", url_path="trace"),
    st.Page(VIEWS / "alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
    st.Page(VIEWS / "resources.py", title="Resources", icon=":material/memory:", url_path="resources"),
])
navigation.run()
