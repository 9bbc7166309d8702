"""sandbox/routes/ldlms.py: LearnDash's course progress and steps, minimal."""
from __future__ import annotations

from tests.support.loopback import rest


def test_learndash_minimal(sb, wp):
    with sb.site.lock:
        student = next(iter(sb.site.enrollments))[0]
    prog = wp.get(rest(sb, f"ldlms/v2/users/{student}/course-progress")).json()
    assert prog and {"course", "progress_status", "steps_completed", "steps_total", "date_completed",
                     "date_completed_gmt"} <= set(prog[0])
    steps = wp.get(rest(sb, f"ldlms/v2/users/{student}/course-progress/{prog[0]['course']}/steps")).json()
    assert {"step", "post_type", "step_status", "date_completed", "date_completed_gmt"} <= set(steps[0])
