import asyncio
from unpod import AsyncClient
async def main():
    async with AsyncClient(api_key="sk-...") as client:
        pipes = await client.pipes.list()
        for p in pipes:
            print(p.pipe_id, p.name, p.voice_profile_id or "no voice profile")
asyncio.run(main())
