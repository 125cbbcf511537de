"""Step 2: stage the data as the storage stack does, train under the cloud's job name, apply the gate."""

from __future__ import annotations

import shutil
from pathlib import Path

from local.demo.results import TrainedModel
from local.demo.steps import DemoError
from mlops_core.settings import Settings


def train_model(workdir: Path, settings: Settings, rows: int) -> TrainedModel:
    """Stage the data as the storage stack does, train locally under the cloud's job name, apply the gate."""
    import dataset
    from local.training import TrainingFailed, run_training
    from mlops_core.naming import training_job_name, training_run_id
    from mlops_core.quality_gate import quality_gate
    from mlops_core.staging import SOURCEDIR_ARCHIVE, sourcedir, training_data

    # Synthetic data always: the demo's drifted traffic shifts features it knows.
    staged, data_hash, _ = training_data(lambda out: dataset.write_dataset(out, rows=rows, seed=settings.data_seed))
    data_dir = workdir / "data"
    data_dir.mkdir()
    for relative in ("train/train.csv", "train/schema.json", "validation/validation.csv"):
        shutil.copyfile(staged / relative, data_dir / Path(relative).name)
    code_dir, code_hash = sourcedir()
    job_name = training_job_name(settings, data_hash, code_hash)
    log_path = workdir / "logs" / "training.log"
    with log_path.open("w", encoding="utf-8") as log:
        try:
            result = run_training(
                data_dir,
                workdir / "model",
                settings.hyperparameters,
                job_name=job_name,
                echo=lambda line: log.write(line + "\n"),
            )
        except TrainingFailed as exc:
            raise DemoError(f"training job {job_name} failed: {exc.reason} (log: {log_path})") from None
    decision = quality_gate(result.evaluation, settings.min_validation_auc)
    if not decision.approved:
        raise DemoError(
            f"the quality gate rejected the model: {decision.reason}; in the cloud the deploy stops here "
            "and the endpoint keeps its previous model"
        )
    archive = code_dir / SOURCEDIR_ARCHIVE
    run_id = training_run_id(settings, data_hash, code_hash)
    return TrainedModel(job_name, run_id, data_dir, staged, data_hash, archive, code_hash, result, decision)
