"""The models config file: parsing TensorFlow Serving's format, and model-sync's label updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinguard_model_repository.models_config import (
    ConfigError,
    ModelConfig,
    VersionPolicy,
    ensure_model,
    parse_model_server_config,
    read_model_config_file,
    set_version_labels,
)

PRODUCTION_CONFIG = Path(__file__).parents[2] / "deploy" / "serving" / "models.config"


def test_policies_and_labels_are_read():
    models = parse_model_server_config(
        """
        model_config_list {
          config { name: "a" base_path: "/models/a" model_platform: "tensorflow" }
          config {
            name: "b" base_path: "/models/b" model_platform: "tensorflow"
            model_version_policy { specific { versions: 3 versions: 4 } }
            version_labels { key: "stable" value: 3 }
            version_labels { key: "canary" value: 4 }
          }
          config {
            name: "c" base_path: "/models/c" model_platform: "tensorflow"
            model_version_policy { latest { num_versions: 2 } }
          }
        }
        """
    )

    assert models == [
        ModelConfig("a", Path("/models/a")),
        ModelConfig(
            "b", Path("/models/b"), VersionPolicy("specific", versions=frozenset({3, 4})), {"stable": 3, "canary": 4}
        ),
        ModelConfig("c", Path("/models/c"), VersionPolicy("latest", num_versions=2)),
    ]


def test_the_production_config_parses():
    assert [model.name for model in read_model_config_file(PRODUCTION_CONFIG)] == ["skinguard"]


@pytest.mark.parametrize(
    ("policy", "selected"),
    [
        (VersionPolicy(), {9}),
        (VersionPolicy("latest", num_versions=2), {7, 9}),
        (VersionPolicy("all"), {1, 7, 9}),
        (VersionPolicy("specific", versions=frozenset({1, 5})), {1}),
    ],
)
def test_policies_select_versions_found_on_disk(policy, selected):
    assert policy.select([1, 9, 7]) == selected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model_config_list { config { name: "a" base_path: "/a" } }', "neither model_type"),
        ('model_config_list { config { name: "a" base_path: "/a" model_platform: "onnx" } }', "'onnx'"),
        ('model_config_list { config { name: "a" model_platform: "tensorflow" } }', "name and a base_path"),
        (
            'model_config_list { config { name: "a" base_path: "/a" model_platform: "tensorflow" } '
            'config { name: "a" base_path: "/b" model_platform: "tensorflow" } }',
            "more than once",
        ),
        ('model_config_list { config { nmae: "a" } }', "not a text-format ModelServerConfig"),
        ('custom_model_config { type_url: "x" }', "custom_model_config is not supported"),
    ],
)
def test_configs_tensorflow_serving_would_refuse_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_model_server_config(text)


@pytest.mark.parametrize("labels", [{}, {"stable": 2}])
def test_set_version_labels_adds_a_missing_model_with_the_all_policy(tmp_path, labels):
    config = tmp_path / "models.config"

    previous = set_version_labels(config, "m", tmp_path / "m", labels)

    assert previous == {}
    assert read_model_config_file(config) == [ModelConfig("m", tmp_path / "m", VersionPolicy("all"), labels)]


def test_set_version_labels_changes_only_the_labels_and_returns_the_old_ones(tmp_path):
    config = tmp_path / "models.config"
    config.write_text(
        """
        model_config_list {
          config { name: "other" base_path: "/o" model_platform: "tensorflow" }
          config {
            name: "m" base_path: "/m" model_platform: "tensorflow"
            model_version_policy { latest { num_versions: 2 } }
            version_labels { key: "stable" value: 1 }
            version_labels { key: "canary" value: 2 }
          }
        }
        """
    )

    previous = set_version_labels(config, "m", Path("/ignored"), {"stable": 2})

    assert previous == {"stable": 1, "canary": 2}
    assert read_model_config_file(config) == [
        ModelConfig("other", Path("/o")),
        ModelConfig("m", Path("/m"), VersionPolicy("latest", num_versions=2), {"stable": 2}),
    ]


def test_ensure_model_lists_a_missing_model_and_leaves_a_listed_one_alone(tmp_path):
    config = tmp_path / "models.config"
    set_version_labels(config, "m", Path("/m"), {"stable": 1})

    assert ensure_model(config, "m", Path("/elsewhere")) == {"stable": 1}
    assert ensure_model(config, "n", Path("/n")) == {}
    assert read_model_config_file(config) == [
        ModelConfig("m", Path("/m"), VersionPolicy("all"), {"stable": 1}),
        ModelConfig("n", Path("/n"), VersionPolicy("all")),
    ]
