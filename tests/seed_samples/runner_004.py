from unpod import AgentRunner, CallContext
async def handle_call(ctx: CallContext) -> None:
    await ctx.session.say("Hello, thanks for calling!")
    await ctx.session.run() # blocks until the call ends
runner = AgentRunner(
    entrypoint=handle_call,
    agent_id="my-agent", # must match agent_id in your Speech Pipe
)
runner.start() # blocking
