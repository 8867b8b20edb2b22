"""ui/state.py: one declaration per page puts its settings in the URL, and a link sets them back."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def page() -> None:
    import streamlit as st

    from ui.state import url_state

    s = url_state(
        "demo.", n=(3, range(1, 6)), lr=(0.01, [0.001, 0.01, 0.1]), on=True, name="a", layers=[], note=""
    )
    url_state("demo.", depth=s.n * 2)  # a default that depends on another key: a second call
    if st.session_state.get("show", True):  # a hidden widget loses its state; the page keeps a copy
        st.slider("n", 1, 5, key="demo.n")
    st.checkbox("on", key="demo.on")
    st.segmented_control("name", ["a", "b"], key="demo.name")
    st.text(f"{s.n} {s.lr} {s.on} {s.name} {s.layers} {s.depth}")


def run(**query: str) -> AppTest:
    at = AppTest.from_function(page, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_defaults_leave_the_url_empty_and_read_by_short_name():
    at = run()
    assert not at.exception
    assert at.text[0].value == "3 0.01 True a [] 6"
    assert dict(at.query_params) == {}


def test_a_link_sets_the_values_and_a_bad_value_is_ignored_and_cleaned():
    at = run(**{"demo.n": "4", "demo.lr": "0.1", "demo.on": "0", "demo.layers": '["c1","c2"]'})
    assert at.text[0].value == "4 0.1 False a ['c1', 'c2'] 8"
    at = run(**{"demo.n": "9", "demo.lr": "0.5", "demo.name": "b"})  # 9 and 0.5 are not among the choices
    assert at.text[0].value == "3 0.01 True b [] 6"
    assert dict(at.query_params) == {"demo.name": "b"}  # the run mirrored the values it uses


def test_a_widget_change_reaches_the_url_in_the_run_it_causes():
    at = run()
    at.slider(key="demo.n").set_value(5).run()
    assert at.query_params["demo.n"] == "5"
    assert at.text[0].value == "5 0.01 True a [] 6"  # a value once declared stays (the page resets it)
    at.slider(key="demo.n").set_value(3).run()  # back to the default: the key leaves the link
    assert "demo.n" not in at.query_params


def test_a_value_too_long_for_a_link_stays_in_the_session_only():
    from ui.state import MAX_URL_TEXT

    at = run()
    at.session_state["demo.note"] = "诗" * MAX_URL_TEXT  # at the limit: mirrored
    assert at.run().query_params["demo.note"] == "诗" * MAX_URL_TEXT
    at.session_state["demo.note"] = "诗" * (MAX_URL_TEXT + 1)  # a pasted long prompt: left out of the link
    at.run()
    assert "demo.note" not in at.query_params
    assert at.session_state["demo.note"] == "诗" * (MAX_URL_TEXT + 1)  # and still the page's value


def test_a_value_survives_its_widget_being_hidden():
    at = run()
    at.slider(key="demo.n").set_value(2).run()
    at.session_state["show"] = False
    at.run()
    at.run()  # Streamlit has dropped the slider's state by now; the declaration restores the kept value
    assert at.text[0].value.startswith("2 ")
    at.session_state["show"] = True
    assert at.run().slider(key="demo.n").value == 2


def test_the_view_writes_session_state_and_names_missing_keys():
    from ui.state import UrlState

    def script() -> None:
        import streamlit as st

        from ui.state import url_state

        s = url_state("v.", k=1)
        s.k = 7
        st.text(str(st.session_state["v.k"]))
        try:
            st.text(s.missing)
        except AttributeError as err:
            st.text(str(err))

    at = AppTest.from_function(script, default_timeout=30).run()
    assert [t.value for t in at.text] == ["7", "v.missing"]
    assert UrlState.__doc__


def test_a_control_clicked_off_keeps_its_last_value():
    at = run()
    at.button_group[0].set_value("b").run()
    assert at.text[0].value.split()[3] == "b" and at.query_params["demo.name"] == "b"
    at.button_group[0].set_value(None).run()  # a click on the chosen segment empties it
    assert not at.exception
    assert at.text[0].value.split()[3] == "b" and at.query_params["demo.name"] == "b"
