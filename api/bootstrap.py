"""Create a project with a first API key (what `unpod up` does on first start)."""

from __future__ import annotations

from dataclasses import dataclass

from api.node import Node


@dataclass(frozen=True)
class Credentials:
    project_id: str
    key_id: str
    api_key: str


async def create_project_with_key(node: Node, project_name: str, key_name: str = "bootstrap") -> Credentials:
    assert node.management is not None and node.projector is not None
    project = await node.management.create_project(project_name)
    key = await node.management.issue_api_key(project.id, key_name)
    await node.caught_up(key.seq)
    return Credentials(project.id, key.id, key.extra["token"])
