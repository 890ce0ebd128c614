"""An admin's pages and API over HTTP against the running workspace: users added,
disabled and given new passwords, ruleset versions activated; each act audited under the
admin's name; nobody else let in."""

from __future__ import annotations

import pytest

from tests.integration.review_app import PASSWORD, RunningReview, review, review_database

pytestmark = pytest.mark.integration
__all__ = ["review", "review_database"]  # fixtures

NEW_PASSWORD = "a new password of some length"


def _audit(review: RunningReview, action: str) -> list[tuple[str | None, str, object, object]]:
    return review.sql(
        "SELECT u.name, a.via, a.before, a.after FROM audit_log a "
        "LEFT JOIN users u ON u.id = a.actor_id WHERE a.action = %s ORDER BY a.id",
        action,
    )


def test_only_an_admin_reaches_the_admin_pages_and_api(review: RunningReview) -> None:
    for name in ("hana", "lena", "audrey"):
        client = review.client(name)
        for path in ("/admin/users", "/admin/rulesets", "/api/v1/users", "/api/v1/rulesets"):
            assert client.get(path).status_code == 403, (name, path)
        refused = client.act(
            "/admin/users", {"name": "mallory", "role": "admin", "password": PASSWORD}
        )
        assert refused.status_code == 403
        assert "only an admin" in refused.text
    token = review.token("lena")
    assert (
        review.client()
        .post("/api/v1/rulesets/1/activate", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 403
    )
    assert not review.sql("SELECT 1 FROM users WHERE name = 'mallory'")


def test_an_admin_adds_a_user_who_then_signs_in_to_their_regime(review: RunningReview) -> None:
    root = review.client("root")
    page = root.page("/admin/users")
    assert page.response.status_code == 200
    assert "hana" in page.response.text
    assert "Add a user" in page.response.text
    added = root.act(
        "/admin/users",
        [("name", "haley"), ("role", "reviewer"), ("regime", "HT"), ("password", PASSWORD)],
    )
    assert added.status_code == 303, added.text
    assert "haley" in root.get("/admin/users").text
    haley = review.client("haley")
    assert haley.get("/api/v1/me").json() == {
        "name": "haley",
        "role": "reviewer",
        "regimes": ["HT"],
        "via": "web",
    }
    assert ("root", "web") in [(who, via) for who, via, _, _ in _audit(review, "user.add")]


def test_a_refused_user_is_a_reason_not_a_crash(review: RunningReview) -> None:
    root = review.client("root")
    short = root.act(
        "/admin/users",
        [("name", "shorty"), ("role", "reviewer"), ("regime", "HT"), ("password", "short")],
    )
    assert short.status_code == 422
    assert "12 characters" in short.text
    token = review.token("root")
    bearer = {"Authorization": f"Bearer {token}"}
    twice = review.client().post(
        "/api/v1/users",
        json={"name": "hana", "role": "reviewer", "regimes": ["HT"], "password": PASSWORD},
        headers=bearer,
    )
    assert twice.status_code == 422
    assert "exists already" in twice.json()["error"]
    nowhere = review.client().post(
        "/api/v1/users",
        json={"name": "nowhere", "role": "reviewer", "regimes": ["XX"], "password": PASSWORD},
        headers=bearer,
    )
    assert nowhere.status_code == 422
    assert "no such regime: XX" in nowhere.json()["error"]


def test_disabling_and_a_new_password_end_the_user_s_sessions(review: RunningReview) -> None:
    hugo = review.client("hugo")
    assert hugo.get("/api/v1/me").status_code == 200
    root = review.client("root")
    assert root.act("/admin/users/hugo/password", {"password": NEW_PASSWORD}).status_code == 303
    assert hugo.get("/api/v1/me").status_code == 401  # the old session is gone
    assert review.client().sign_in("hugo", PASSWORD).status_code != 303
    hugo = review.client("hugo", NEW_PASSWORD)
    assert hugo.get("/api/v1/me").status_code == 200

    token = review.token("root")
    disabled = review.client().post(
        "/api/v1/users/hugo/disable", headers={"Authorization": f"Bearer {token}"}
    )
    assert disabled.status_code == 200
    assert disabled.json()["disabled_at"]
    assert hugo.get("/api/v1/me").status_code == 401
    listed = {
        u["name"]: u
        for u in review.client()
        .get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        .json()["users"]
    }
    assert listed["hugo"]["disabled_at"]
    assert listed["hana"]["disabled_at"] is None
    acts = {(who, via) for who, via, _, _ in _audit(review, "user.disable")}
    assert ("root", "api") in acts
    assert ("root", "web") in {(w, v) for w, v, _, _ in _audit(review, "user.reset_password")}


def test_an_admin_activates_a_ruleset_version_and_it_is_audited(review: RunningReview) -> None:
    # A second version: the first one's documents with one regime's title changed.
    review.sql(
        "INSERT INTO ruleset_versions (version, digest, documents, source, active) "
        "SELECT version + 1, md5(digest), documents, 'test copy', false "
        "FROM ruleset_versions WHERE active RETURNING version"
    )
    (active,), (other,) = review.sql(
        "SELECT version FROM ruleset_versions ORDER BY active DESC, version"
    )[:2]
    root = review.client("root")
    page = root.get("/admin/rulesets").text
    assert "test copy" in page
    assert f"/admin/rulesets/{other}/activate" in page
    no_token = root.post(f"/admin/rulesets/{other}/activate")
    assert no_token.status_code == 403
    assert review.sql("SELECT version FROM ruleset_versions WHERE active") == [(active,)]
    assert root.act(f"/admin/rulesets/{other}/activate", {}).status_code == 303
    assert review.sql("SELECT version FROM ruleset_versions WHERE active") == [(other,)]
    who, via, before, after = _audit(review, "ruleset.activate")[-1]
    assert (who, via) == ("root", "web")
    assert before == {"active_version": active}
    assert after == {"active_version": other}

    token = review.token("root")
    bearer = {"Authorization": f"Bearer {token}"}
    listed = review.client().get("/api/v1/rulesets", headers=bearer).json()
    assert [v["version"] for v in listed["versions"] if v["active"]] == [other]
    missing = review.client().post("/api/v1/rulesets/999/activate", headers=bearer)
    assert missing.status_code == 404
    back = review.client().post(f"/api/v1/rulesets/{active}/activate", headers=bearer)
    assert back.json() == {"active_version": active}
    assert review.sql("SELECT version FROM ruleset_versions WHERE active") == [(active,)]
