import asyncio
from unpod import AsyncClient
async def main():
    async with AsyncClient(api_key="sk-...") as client:
        # Detach numbers first
        numbers = await client.numbers.list()
        for n in numbers:
            if n.pipe_id == "pipe_...":
                await client.numbers.detach(n.id)
        # Then delete
        await client.pipes.delete("pipe_...")
        print("Deleted")
asyncio.run(main())
