import dataclasses
import re
import subprocess

import pytest

from mlops_core.settings import (
    DEFAULT_HYPERPARAMETERS,
    SettingError,
    Settings,
    setting_docs,
    setting_names,
)

from .conftest import ROOT, cdk_json_context


def test_defaults_follow_the_original_design():
    s = Settings()
    assert (s.serverless_memory_size, s.serverless_max_concurrency) == (2048, 1)
    assert s.data_capture_sampling_percentage == 100
    assert s.latency_threshold_ms == 5000
    assert s.error_rate_threshold_percent == 5.0
    assert s.alert_email is None


def test_cdk_json_context_builds_the_default_settings():
    assert Settings.from_context(cdk_json_context()) == Settings()


def test_command_line_strings_are_coerced_to_the_setting_types():
    s = Settings.from_context(
        {"serverless_memory_size": "3072", "error_rate_threshold_percent": "2.5", "alert_email": "ops@example.com"}
    )
    assert s.serverless_memory_size == 3072
    assert s.error_rate_threshold_percent == 2.5
    assert s.alert_email == "ops@example.com"


def test_an_empty_optional_setting_means_unset():
    assert Settings.from_context({"alert_email": ""}).alert_email is None


def test_hyperparameters_from_the_command_line_merge_over_the_defaults():
    s = Settings.from_context({"hyperparameters": '{"eta": 0.3, "max_depth": 6}'})
    assert s.hyperparameters == {**DEFAULT_HYPERPARAMETERS, "eta": "0.3", "max_depth": "6"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("serverless_memory_size", "1000"),
        ("serverless_memory_size", "8192"),
        ("serverless_max_concurrency", "0"),
        ("serverless_max_concurrency", "201"),
        ("data_capture_sampling_percentage", "101"),
        ("latency_threshold_ms", "0"),
        ("error_rate_threshold_percent", "0"),
        ("alert_email", "not-an-address"),
        ("training_instance_type", "m5.large"),
        ("training_max_runtime_minutes", "661"),
        ("approval_mode", "sometimes"),
        ("approval_wait_hours", "12"),
        ("approval_wait_hours", "0"),
        ("retrain_schedule", "nightly"),
        ("retrain_on_new_data", "yes"),
        ("retrain_on_drift", 1),
        ("labelled_data_prefix", "models/new"),
        ("labelled_data_prefix", "/labelled"),
        ("labelled_data_prefix", "labelled/"),
        ("labelled_data_prefix", "Labelled"),
        ("labelled_data_prefix", "x" * 101),
        ("bake_minutes", "9"),
        ("bake_minutes", "241"),
        ("min_validation_auc", "0.4"),
        ("drift_schedule", "every hour"),
        ("log_retention_days", "31"),
        ("removal_policy", "keep"),
        ("project_name", "Bad_Name"),
        ("project_name", "a-project-name-that-is-too-long"),
        ("github_repository", "no-slash"),
        ("hyperparameters", "[1, 2]"),
        ("serverless_memory_size", "lots"),
        ("retrain_token", "has spaces"),
        ("serverless_memory_size", "2_048"),
        ("serverless_memory_size", "\uff12\uff10\uff14\uff18"),
        ("serverless_memory_size", "2048.0"),
        ("latency_threshold_ms", True),
        ("drift_psi_warn", "nan"),
        ("drift_psi_warn", "inf"),
        ("drift_psi_warn", "0x1"),
        ("drift_psi_warn", "1e999"),
        ("monthly_budget_usd", "1e400"),
        ("data_seed", "-1"),
        ("data_seed", str(2**32)),
        ("drift_min_rows", 1e300),
        ("label_column", "churn\nflag"),
    ],
)
def test_a_bad_value_fails_with_the_settings_name(name, value):
    with pytest.raises(SettingError, match=f"`{name}`"):
        Settings.from_context({name: value})


def test_training_may_run_eleven_hours_because_a_deploy_waits_up_to_twelve():
    assert Settings.from_context({"training_max_runtime_minutes": "660"}).training_wait_minutes == 690


def test_in_manual_mode_training_and_the_approval_wait_must_fit_twelve_hours_together():
    fits = Settings.from_context(
        {"approval_mode": "manual", "training_max_runtime_minutes": "330", "approval_wait_hours": "6"}
    )
    assert fits.training_wait_minutes == 720
    with pytest.raises(SettingError, match=r"`training_max_runtime_minutes` .* and `approval_wait_hours`"):
        Settings.from_context(
            {"approval_mode": "manual", "training_max_runtime_minutes": "331", "approval_wait_hours": "6"}
        )
    # In automatic mode nobody is waited for: the approval wait does not count.
    Settings.from_context({"training_max_runtime_minutes": "660", "approval_wait_hours": "11"})


def test_the_bake_must_last_as_long_as_the_latency_alarm_takes_to_fire():
    with pytest.raises(SettingError, match=r"`bake_minutes` must be at least .* = 60\) and at most 240, got 45"):
        Settings.from_context({"alarm_period_minutes": "30", "bake_minutes": "45"})
    assert Settings.from_context({"alarm_period_minutes": "30", "bake_minutes": "60"}).guard_window_minutes == 60


def test_switches_read_json_booleans_and_the_words_true_and_false():
    s = Settings.from_context({"retrain_on_drift": "True", "retrain_on_new_data": False})
    assert (s.retrain_on_drift, s.retrain_on_new_data) == (True, False)
    assert Settings.from_context({"retrain_on_drift": " false "}).retrain_on_drift is False


def test_the_loop_is_off_but_for_new_data_by_default():
    s = Settings()
    assert (s.approval_mode, s.retrain_schedule, s.retrain_on_new_data, s.retrain_on_drift) == (
        "automatic",
        "",
        True,
        False,
    )
    assert s.labelled_data_prefix == "labelled" and s.bake_minutes == 15


def test_provisioned_concurrency_may_not_exceed_max_concurrency():
    with pytest.raises(SettingError, match="serverless_provisioned_concurrency"):
        Settings.from_context({"serverless_max_concurrency": "2", "serverless_provisioned_concurrency": "3"})


def test_psi_alert_threshold_may_not_be_below_the_warn_threshold():
    with pytest.raises(SettingError, match="drift_psi_alert"):
        Settings.from_context({"drift_psi_warn": "0.3", "drift_psi_alert": "0.2"})


def test_derived_thresholds_are_in_the_units_cloudwatch_publishes():
    s = Settings(latency_threshold_ms=5000, error_rate_threshold_percent=5, cold_start_threshold_ms=20000)
    assert s.latency_threshold_us == 5_000_000
    assert s.cold_start_threshold_us == 20_000_000
    assert s.error_rate_threshold == pytest.approx(0.05)


def test_every_setting_has_a_row_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `([a-z_0-9]+)` \|", readme, flags=re.MULTILINE))
    assert rows == set(setting_names())


def test_every_setting_is_documented_in_code():
    assert all(doc for _, _, doc in setting_docs())
    assert len(setting_docs()) == len(dataclasses.fields(Settings))


def test_cdk_synth_with_a_bad_setting_fails_naming_it(tmp_path):
    result = subprocess.run(
        ["node_modules/.bin/cdk", "synth", "--quiet", "-c", "serverless_memory_size=1000", "-o", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "setting `serverless_memory_size` must be one of 1024..6144" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("drift_psi_warn", ".05", 0.05),
        ("drift_psi_warn", "+1e-1", 0.1),
        ("data_seed", "007", 7),
        ("drift_min_rows", 5.0, 5),
    ],
)
def test_numbers_in_plain_decimal_notation_are_read(name, text, value):
    assert getattr(Settings.from_context({name: text}), name) == value


@pytest.mark.parametrize("text", ["0.5", ".5", "5.", "+1e-1", "1_0", "inf", "nan", "\u0665", "0x1", "1e", "1e999"])
def test_a_setting_reads_a_number_exactly_when_the_data_reader_does(text):
    from model_code.number_syntax import number_problem

    try:
        Settings.from_context({"drift_mean_shift_sd": text})
        accepted = True
    except SettingError as error:
        assert "drift_mean_shift_sd" in str(error)
        accepted = False
    assert accepted == (number_problem(text) is None)


@pytest.mark.parametrize(
    ("csv", "label", "message"),
    [
        ("a,y\n1,0\nx,1\n", "y", "data.csv line 3, column 'a': 'x' is not a number"),
        (None, "y", "data.csv: file not found"),
        ("a,b\n1,0\n", "y", "label column 'y' not found; columns are a, b"),
    ],
)
def test_cdk_synth_with_bad_data_fails_in_one_line_like_a_bad_setting(tmp_path, csv, label, message):
    data = tmp_path / "data.csv"
    if csv is not None:
        data.write_text(csv)
    context = ["-c", f"data_path={data}", "-c", f"label_column={label}"]
    result = subprocess.run(
        ["node_modules/.bin/cdk", "synth", "--quiet", "-o", str(tmp_path / "out"), *context],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    output = result.stderr + result.stdout
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: setting `data_path`: "), output
    assert message in errors[0] and "Traceback" not in output
