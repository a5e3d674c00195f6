"""The signaling scenarios, run unchanged against one node and against three nodes on
three "machines" (network namespaces, each its own address and data directory, one
Redis and one PostgreSQL): imported here, they take this package's ``server`` fixture
(conftest.py), whose joins go through the nodes in turn and follow ``moved``."""

from __future__ import annotations

import pytest

from tests.signaling.test_api import test_end_and_record_of_a_session_nobody_joined
from tests.signaling.test_media_session import test_one_to_one_media_both_ways_and_presence
from tests.signaling.test_recordings_api import (
    test_instructor_switches_recording_and_everyone_sees_it,
)
from tests.signaling.test_socket import (
    test_chat_with_picture_and_board_reach_everyone_and_late_joiners,
    test_end_session_then_feedback_rules,
    test_join_welcome_and_presence_list,
    test_reconnect_keeps_grants_and_a_second_tab_replaces_the_first,
    test_refusals_change_nothing,
    test_server_decides_what_a_role_may_do,
)

pytestmark = pytest.mark.timeout(120)

__all__ = [
    "test_chat_with_picture_and_board_reach_everyone_and_late_joiners",
    "test_end_and_record_of_a_session_nobody_joined",
    "test_end_session_then_feedback_rules",
    "test_instructor_switches_recording_and_everyone_sees_it",
    "test_join_welcome_and_presence_list",
    "test_one_to_one_media_both_ways_and_presence",
    "test_reconnect_keeps_grants_and_a_second_tab_replaces_the_first",
    "test_refusals_change_nothing",
    "test_server_decides_what_a_role_may_do",
]
