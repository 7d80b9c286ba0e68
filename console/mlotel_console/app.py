"""The console's entry point (``mlotel-console``, or ``streamlit run console/mlotel_console/app.py``):
the page list with their stable URLs. Each page is its own script in ``pages/``."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="mlotel console", page_icon=":material/monitoring:", layout="wide")
navigation = st.navigation([
    st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(PAGES / "models.py", title="Models", icon=":material/model_training:", url_path="models"),
    st.Page(PAGES / "slow.py", title="Slow predictions", icon=":material/speed:", url_path="slow"),
    st.Page(PAGES / "trace.py", title="Trace", icon=":material/account_tree:", url_path="trace"),
    st.Page(PAGES / "alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
    st.Page(PAGES / "resources.py", title="Resources", icon=":material/memory:", url_path="resources"),
])
navigation.run()
