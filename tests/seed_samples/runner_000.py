from unpod import AgentRunner, CallContext
AGENT_ID = "my-bot" # must match the pipe's agent_id
async def handle_call(ctx: CallContext) -> None:
    await ctx.session.say("Hello, how can I help you?")
    await ctx.session.run()
runner = AgentRunner(
    entrypoint=handle_call,
    agent_id=AGENT_ID,
    max_sessions=20,
)
runner.start()
