import asyncio
from unpod import AsyncClient
async def main():
    async with AsyncClient(api_key="sk-...") as client:
        pipe = await client.pipes.create(
            name="Webhook Bot",
            voice_profile="vp_en_male_std",
            agent_endpoint="https://your-api.example.com/dialog/turn",
        )
        print("Pipe with HTTP endpoint:", pipe.pipe_id)
asyncio.run(main())
