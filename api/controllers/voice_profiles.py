from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from api import dto, views
from api.deps import PrincipalDep
from api.errors import READ_ONE, responses
from bus_contracts.voice_profiles import CATALOG, get_profile


class VoiceProfileController(Controller):
    path = "/v1/voice-profiles"
    security = [{"BearerAuth": []}]
    tags = ["voice profiles"]

    @get(summary="List voice profiles (read-only catalog)", responses=responses(400, 401))
    async def list_profiles(
        self,
        principal: PrincipalDep,
        language: Annotated[
            str | None, QueryParameter(description="Filter by language, e.g. en-US", max_length=16)
        ] = None,
    ) -> dto.VoiceProfileList:
        profiles = [p for p in CATALOG if language is None or p.language.lower() == language.lower()]
        return dto.VoiceProfileList(data=[views.profile(p) for p in profiles])

    @get("/{profile_id:str}", summary="Get one voice profile", responses=READ_ONE)
    async def get_profile(self, principal: PrincipalDep, profile_id: FromPath[str]) -> dto.VoiceProfile:
        p = get_profile(profile_id)
        if p is None:
            raise NotFoundException(f"voice profile {profile_id!r} not found; see GET /v1/voice-profiles")
        return views.profile(p)
