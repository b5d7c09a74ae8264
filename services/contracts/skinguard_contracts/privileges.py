"""Least privilege: what each service may do in the database and in the bucket.

One definition, rendered by ``skinguard_devstack`` for ``make run`` (PostgreSQL roles with
grants, SeaweedFS identities) and for compose and Kubernetes (``skinguard-dev privileges``
writes the SQL and the S3 policies they mount). Migrations and ``skinguard-keys`` run as the
database owner; no service does: the internet-facing gateway can neither mint an API key nor
touch ``models/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .keys import DATASETS_PREFIX, IMAGES_PREFIX, JOBS_PREFIX, MODELS_PREFIX

READ = ("SELECT",)
WRITE = ("SELECT", "INSERT", "UPDATE")


@dataclass(frozen=True)
class ServiceAccess:
    database_role: str | None  # None: the service has no database
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> privileges
    s3_identity: str | None = None  # None: the service has no bucket access
    s3_read: tuple[str, ...] = ()  # key prefixes it may read (and list)
    s3_write: tuple[str, ...] = ()  # key prefixes it may write and delete


ACCESS: dict[str, ServiceAccess] = {
    "ingestion": ServiceAccess(
        "skinguard_ingestion",
        {
            "api_keys": READ,
            "training_images": ("SELECT", "INSERT", "DELETE"),
            "upload_intents": ("SELECT", "INSERT", "UPDATE", "DELETE"),
        },
        "skinguard-ingestion",
        s3_read=(IMAGES_PREFIX,),
        s3_write=(IMAGES_PREFIX,),
    ),
    "annotation": ServiceAccess(
        "skinguard_annotation",
        {
            "api_keys": READ,
            "training_images": READ,
            "image_annotations": WRITE,
            "label_adjudications": WRITE,
            "training_datasets": ("SELECT", "INSERT"),
            "dataset_images": ("SELECT", "INSERT"),
            "training_jobs": WRITE,
            "model_versions": ("SELECT", "UPDATE"),
            "model_evaluations": WRITE,
            "model_index_generations": WRITE,
        },
        "skinguard-annotation",
        s3_read=(IMAGES_PREFIX, DATASETS_PREFIX, JOBS_PREFIX, MODELS_PREFIX),
        s3_write=(DATASETS_PREFIX, JOBS_PREFIX, MODELS_PREFIX),
    ),
    "training-worker": ServiceAccess(
        "skinguard_worker",
        {
            "training_jobs": ("SELECT", "UPDATE"),
            "model_versions": WRITE,
            "model_evaluations": WRITE,
            "model_index_generations": WRITE,
        },
        "skinguard-worker",
        s3_read=(IMAGES_PREFIX, DATASETS_PREFIX, JOBS_PREFIX, MODELS_PREFIX),
        s3_write=(MODELS_PREFIX,),
    ),
    "gateway": ServiceAccess(
        "skinguard_gateway",
        {"api_keys": READ, "prediction_log": ("SELECT", "INSERT"), "prediction_feedback": ("SELECT", "INSERT")},
        "skinguard-gateway",
        s3_read=(MODELS_PREFIX,),
    ),
    "model-sync": ServiceAccess(None, s3_identity="skinguard-model-sync", s3_read=(MODELS_PREFIX,)),
    "model-server": ServiceAccess(None),  # the model repository on disk only
    "webapp": ServiceAccess(None),  # the services' public APIs with each person's own key, and Redis
}


def grants_sql(database: str) -> list[str]:
    """Statements (run by the owner after migrations) that leave each role exactly its grants;
    the roles must exist."""
    statements = []
    for access in ACCESS.values():
        role = access.database_role
        if role is None:
            continue
        statements += [
            f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        ]
        statements += [f"GRANT {', '.join(rights)} ON {table} TO {role}" for table, rights in access.tables.items()]
    return statements


def seaweedfs_actions(access: ServiceAccess, bucket: str) -> list[str]:
    """SeaweedFS identity actions: ``Read``/``Write`` scoped to ``bucket/prefix*``, ``List`` on the bucket."""
    actions = [f"List:{bucket}"]
    actions += [f"Read:{bucket}/{prefix}*" for prefix in access.s3_read]
    actions += [f"Write:{bucket}/{prefix}*" for prefix in access.s3_write]
    return actions


def s3_policy(access: ServiceAccess, bucket: str) -> dict:
    """The same as an AWS/MinIO IAM policy document."""
    read = [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in access.s3_read]
    write = [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in access.s3_write]
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        }
    ]
    if read:
        statements.append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": read})
    if write:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": write,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
