"""Where the model repository is: the settings the model server and model-sync share."""

from __future__ import annotations

from pathlib import Path

from skinguard_runtime.settings import CommonSettings


class RepositorySettings(CommonSettings):
    # The model repository: <model_repository>/<model_name>/<version>/saved_model.pb.
    model_repository: Path = Path("var/models")
    # The model served when no config file is given, and the one model-sync syncs by default.
    model_name: str = "skinguard"
    # Its version directories, as tensorflow_model_server's --model_base_path; default
    # <model_repository>/<model_name>.
    model_base_path: Path | None = None
    # TensorFlow Serving's text-format ModelServerConfig; model-sync keeps its version labels.
    model_config_file: Path | None = None

    @property
    def single_model_base_path(self) -> Path:
        return self.model_base_path or self.model_repository / self.model_name
