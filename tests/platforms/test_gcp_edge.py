"""Google at the edge: missing credentials and Google's errors become one line of the canaria error tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.api_core import exceptions as gexc

from canaria.errors import ConfigError
from canaria.platforms.gcp import GoogleAuth, describe_identity, google_error_line


def test_missing_credentials_say_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="no Google Application Default Credentials: run `gcloud auth "
                                          "application-default login`"):
        GoogleAuth("my-project")


def test_identity_of_a_service_account_key(tmp_path: Path) -> None:
    from google.oauth2 import service_account

    class Key:  # the attributes google-auth's service-account credentials expose
        service_account_email = "deployer@my-project.iam.gserviceaccount.com"

    Key.__module__ = service_account.__name__
    Key.__name__ = "Credentials"
    assert describe_identity(Key()) == "service account deployer@my-project.iam.gserviceaccount.com"


def test_a_grpc_error_line_names_status_reason_and_what_to_do() -> None:
    error = gexc.NotFound("Resource 'x' of kind 'SERVICE' does not exist.")
    line = google_error_line(error, "Cloud Run: reading service x")
    assert line == ("Cloud Run: reading service x failed: 404 NOT_FOUND: Resource 'x' of kind 'SERVICE' does not "
                    "exist. — check platform.cloudrun.project, region and service")
