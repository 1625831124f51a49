"""Given/when/then tests of the management deciders (pure, no I/O)."""

from __future__ import annotations

from actors.deciders import access, number, pipe, trunk
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import commands as c
from bus_contracts import events as e
from bus_contracts.events import PipeConfig, SipTrunkConfig
from tests.given import given

P = "prj_a"
OTHER = "prj_b"
CFG = PipeConfig(name="Support", voice_profile_id="vp_en_male_std", agent_id="support-bot")
CREATED = e.PipeCreated(project_id=P, config=CFG)


class TestPipe:
    def test_create(self):
        given(pipe.DECIDER).when(c.CreatePipe(project_id=P, config=CFG)).then(CREATED)

    def test_create_again_with_same_config_is_a_noop(self):
        given(pipe.DECIDER, CREATED).when(c.CreatePipe(project_id=P, config=CFG)).then_nothing()

    def test_create_over_a_different_pipe_conflicts(self):
        other = PipeConfig(name="Other", agent_id="x")
        given(pipe.DECIDER, CREATED).when(c.CreatePipe(project_id=P, config=other)).then_refused(Conflict)

    def test_needs_exactly_one_of_agent_id_and_endpoint(self):
        both = PipeConfig(name="x", agent_id="a", agent_endpoint="https://a.example/turn")
        neither = PipeConfig(name="x")
        for cfg in (both, neither):
            given(pipe.DECIDER).when(c.CreatePipe(project_id=P, config=cfg)).then_refused(Invalid, "exactly one")

    def test_unknown_voice_profile_is_refused_with_a_pointer_to_the_catalog(self):
        cfg = PipeConfig(name="x", agent_id="a", voice_profile_id="vp_nope")
        given(pipe.DECIDER).when(c.CreatePipe(project_id=P, config=cfg)).then_refused(Invalid, "vp_nope")

    def test_endpoint_must_be_http_url(self):
        cfg = PipeConfig(name="x", agent_endpoint="ftp://x/y")
        given(pipe.DECIDER).when(c.CreatePipe(project_id=P, config=cfg)).then_refused(Invalid, "http")

    def test_duration_bounds(self):
        cfg = PipeConfig(name="x", agent_id="a", max_call_duration_s=5)
        given(pipe.DECIDER).when(c.CreatePipe(project_id=P, config=cfg)).then_refused(Invalid, "max_call_duration_s")

    def test_barge_in_bounds(self):
        cfg = PipeConfig(name="x", agent_id="a", barge_in_min_speech_s=0.1)
        given(pipe.DECIDER).when(c.CreatePipe(project_id=P, config=cfg)).then_refused(Invalid, "barge_in_min_speech_s")
        given(pipe.DECIDER, CREATED).when(c.UpdatePipe(project_id=P, barge_in_min_speech_s=9.0)).then_refused(
            Invalid, "barge_in_min_speech_s"
        )

    def test_update_records_only_changes(self):
        given(pipe.DECIDER, CREATED).when(c.UpdatePipe(project_id=P, name="Support", recording=True)).then(
            e.PipeUpdated(recording=True)
        )

    def test_switch_from_runner_to_endpoint(self):
        cmd = c.UpdatePipe(project_id=P, agent_id=None, agent_endpoint="https://bot.example/turn")
        given(pipe.DECIDER, CREATED).when(cmd).then(
            e.PipeUpdated(agent_id=None, agent_endpoint="https://bot.example/turn")
        )

    def test_update_that_breaks_the_rules_is_refused(self):
        given(pipe.DECIDER, CREATED).when(c.UpdatePipe(project_id=P, agent_id=None)).then_refused(Invalid)

    def test_other_project_sees_not_found(self):
        given(pipe.DECIDER, CREATED).when(c.UpdatePipe(project_id=OTHER, name="x")).then_refused(NotFound)
        given(pipe.DECIDER, CREATED).when(c.DeletePipe(project_id=OTHER)).then_refused(NotFound)

    def test_delete_with_numbers_names_them(self):
        linked = e.PipeNumberLinked(number_id="num_14155550100")
        given(pipe.DECIDER, CREATED, linked).when(c.DeletePipe(project_id=P)).then_refused(Conflict, "num_14155550100")

    def test_delete_after_unlink(self):
        history = (CREATED, e.PipeNumberLinked(number_id="n1"), e.PipeNumberUnlinked(number_id="n1"))
        given(pipe.DECIDER, *history).when(c.DeletePipe(project_id=P)).then(e.PipeDeleted())

    def test_deleted_pipe_cannot_be_linked_or_updated(self):
        given(pipe.DECIDER, CREATED, e.PipeDeleted()).when(c.LinkNumber(project_id=P, number_id="n1")).then_refused(
            NotFound
        )
        given(pipe.DECIDER, CREATED, e.PipeDeleted()).when(c.DeletePipe(project_id=P)).then_nothing()


ADDED = e.NumberAdded(project_id=P, number="+14155550100", source="byon")


class TestNumber:
    def test_add(self):
        given(number.DECIDER).when(c.AddNumber(project_id=P, number="+14155550100", source="byon")).then(ADDED)

    def test_add_rejects_non_e164(self):
        given(number.DECIDER).when(c.AddNumber(project_id=P, number="4155550100", source="byon")).then_refused(
            Invalid, "E.164"
        )

    def test_add_taken_by_another_project_conflicts_without_saying_whose(self):
        outcome = given(number.DECIDER, ADDED).when(c.AddNumber(project_id=OTHER, number="+14155550100", source="byon"))
        outcome.then_refused(Conflict, "already registered")
        assert P not in outcome.error.message

    def test_lifecycle_available_assigned_in_call(self):
        s = given(number.DECIDER, ADDED)
        assert s.state.status == "available"
        s = given(number.DECIDER, ADDED, e.NumberAttached(pipe_id="pipe_1"))
        assert s.state.status == "assigned"
        s = given(number.DECIDER, ADDED, e.NumberAttached(pipe_id="pipe_1"), e.NumberCallStarted(call_id="call_1"))
        assert s.state.status == "in_call"
        history = (
            ADDED,
            e.NumberAttached(pipe_id="p"),
            e.NumberCallStarted(call_id="c"),
            e.NumberCallEnded(call_id="c"),
        )
        assert given(number.DECIDER, *history).state.status == "assigned"

    def test_attach_taken_number_conflicts(self):
        given(number.DECIDER, ADDED, e.NumberAttached(pipe_id="pipe_1")).when(
            c.AttachNumber(project_id=P, pipe_id="pipe_2")
        ).then_refused(Conflict, "pipe_1")

    def test_attach_same_pipe_again_is_a_noop(self):
        given(number.DECIDER, ADDED, e.NumberAttached(pipe_id="pipe_1")).when(
            c.AttachNumber(project_id=P, pipe_id="pipe_1")
        ).then_nothing()

    def test_detach(self):
        given(number.DECIDER, ADDED, e.NumberAttached(pipe_id="pipe_1")).when(c.DetachNumber(project_id=P)).then(
            e.NumberDetached(pipe_id="pipe_1")
        )

    def test_detach_during_a_call_is_refused(self):
        history = (ADDED, e.NumberAttached(pipe_id="p"), e.NumberCallStarted(call_id="call_9"))
        given(number.DECIDER, *history).when(c.DetachNumber(project_id=P)).then_refused(Conflict, "call_9")

    def test_call_needs_a_pipe(self):
        given(number.DECIDER, ADDED).when(c.StartNumberCall(project_id=P, call_id="c")).then_refused(Conflict)

    def test_release_attached_number_is_refused(self):
        given(number.DECIDER, ADDED, e.NumberAttached(pipe_id="p")).when(c.ReleaseNumber(project_id=P)).then_refused(
            Conflict, "detach"
        )

    def test_released_number_can_be_added_by_another_project(self):
        given(number.DECIDER, ADDED, e.NumberReleased()).when(
            c.AddNumber(project_id=OTHER, number="+14155550100", source="byon")
        ).then(e.NumberAdded(project_id=OTHER, number="+14155550100", source="byon"))

    def test_other_project_sees_not_found(self):
        given(number.DECIDER, ADDED).when(c.AttachNumber(project_id=OTHER, pipe_id="p")).then_refused(NotFound)


SIP = SipTrunkConfig(address="sip.example.net", auth_username="u", has_auth_password=True)


class TestTrunk:
    def test_register(self):
        cmd = c.RegisterTrunk(project_id=P, name="main", type="sip", sip=SIP, numbers=("+14155550100",))
        given(trunk.DECIDER).when(cmd).then(
            e.TrunkRegistered(project_id=P, name="main", type="sip", sip=SIP, numbers=("+14155550100",))
        )

    def test_type_must_match_config(self):
        given(trunk.DECIDER).when(c.RegisterTrunk(project_id=P, name="m", type="provider", sip=SIP)).then_refused(
            Invalid, "provider"
        )

    def test_numbers_must_be_e164(self):
        cmd = c.RegisterTrunk(project_id=P, name="m", type="sip", sip=SIP, numbers=("12",))
        given(trunk.DECIDER).when(cmd).then_refused(Invalid, "12")

    def test_record_numbers_only_new_ones(self):
        reg = e.TrunkRegistered(project_id=P, name="m", type="sip", sip=SIP)
        given(trunk.DECIDER, reg, e.TrunkNumbersAdded(number_ids=("a",))).when(
            c.RecordTrunkNumbers(project_id=P, number_ids=("a", "b", "b"))
        ).then(e.TrunkNumbersAdded(number_ids=("b",)))

    def test_delete(self):
        reg = e.TrunkRegistered(project_id=P, name="m", type="sip", sip=SIP)
        given(trunk.DECIDER, reg).when(c.DeleteTrunk(project_id=P)).then(e.TrunkDeleted())
        given(trunk.DECIDER, reg).when(c.DeleteTrunk(project_id=OTHER)).then_refused(NotFound)


class TestAccess:
    def test_project(self):
        given(access.PROJECT_DECIDER).when(c.CreateProject(project_id=P, name="default")).then(
            e.ProjectCreated(name="default")
        )

    def test_key_issue_and_revoke(self):
        issued = e.ApiKeyIssued(project_id=P, name="ci", key_hash="h", prefix="sk-1")
        given(access.KEY_DECIDER).when(c.IssueApiKey(project_id=P, name="ci", key_hash="h", prefix="sk-1")).then(issued)
        given(access.KEY_DECIDER, issued).when(c.RevokeApiKey(project_id=P)).then(e.ApiKeyRevoked())
        given(access.KEY_DECIDER, issued).when(c.RevokeApiKey(project_id=OTHER)).then_refused(NotFound)
        given(access.KEY_DECIDER, issued, e.ApiKeyRevoked()).when(c.RevokeApiKey(project_id=P)).then_nothing()
