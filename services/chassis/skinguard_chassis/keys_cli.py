"""``skinguard-keys``: create, list and revoke API keys (talks to the database directly)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from skinguard_database import create_engine, create_sessionmaker
from skinguard_runtime.settings import CommonSettings

from .auth import ApiKey, Role, create_api_key


async def _run(args: argparse.Namespace, settings: CommonSettings) -> int:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if args.command == "create":
                user_id = uuid.UUID(args.user_id) if args.user_id else None
                key, token = await create_api_key(session, name=args.name, role=Role(args.role), user_id=user_id)
                print(f"id:      {key.id}\nuser_id: {key.user_id}\nrole:    {key.role.value}\ntoken:   {token}")
                print("Store the token now: it is not kept and cannot be shown again.", file=sys.stderr)
            elif args.command == "list":
                for key in await session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
                    state = "revoked" if key.revoked_at else "active"
                    print(f"{key.id}  {key.role.value:<9} {state:<7} {key.user_id}  {key.name}")
            else:
                revoked = await session.get(ApiKey, uuid.UUID(args.key_id))
                if revoked is None:
                    print(f"no API key with id {args.key_id}", file=sys.stderr)
                    return 1
                revoked.revoked_at = revoked.revoked_at or datetime.now(UTC)
                print(f"revoked {revoked.id}")
    finally:
        await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skinguard-keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print its token once")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--user-id", help="reuse an existing user id (default: a new one)")
    commands.add_parser("list", help="list keys (never tokens)")
    revoke = commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    return asyncio.run(_run(args, CommonSettings()))


if __name__ == "__main__":
    sys.exit(main())
