"""sandbox/routes/llms.py: LifterLMS's shapes, its 400 for a post not enrolled in, and its students."""
from __future__ import annotations

import requests

from tests.support.loopback import rest
from tests.support.samples import GMT_RE, sample


def test_lifterlms_shapes_and_not_enrolled_400(sb, wp):
    courses = wp.get(rest(sb, "llms/v1/courses"), params={"per_page": 1})
    assert set(courses.json()[0]) == set(sample("llms-v1-courses.json")["body"][0])
    assert 'rel="next"' in courses.headers["Link"] and 'rel="last"' in courses.headers["Link"]
    lessons = wp.get(rest(sb, "llms/v1/lessons"), params={"per_page": 2}).json()
    assert set(lessons[0]) == set(sample("llms-v1-lessons.json")["body"][0])
    students = wp.get(rest(sb, "llms/v1/students"), params={"per_page": 2}).json()
    assert set(students[0]) == set(sample("llms-v1-students.json")["body"][0])
    with sb.site.lock:
        (student, course_id), _e = next(iter(sb.site.enrollments.items()))
        lesson_id = sb.site.courses[course_id].lessons[0]
        other = next(c for c in sb.site.courses if (student, c) not in sb.site.enrollments)
    enr = wp.get(rest(sb, f"llms/v1/students/{student}/enrollments")).json()
    assert set(enr[0]) == set(sample("llms-v1-student-enrollments.json")["body"][0])
    prog = wp.get(rest(sb, f"llms/v1/students/{student}/progress/{course_id}"))
    assert prog.status_code == 200
    assert set(prog.json()) == set(sample("llms-v1-progress-course.json")["body"])
    assert GMT_RE.match(prog.json()["date_created"])
    assert wp.get(rest(sb, f"llms/v1/students/{student}/progress/{lesson_id}")).status_code == 200
    bad = wp.get(rest(sb, f"llms/v1/students/{student}/progress/{other}"))
    assert bad.status_code == 400
    assert bad.json() == sample("llms-v1-progress-not-enrolled-400.json")["body"]
    assert requests.get(rest(sb, f"llms/v1/students/{student}/enrollments")).status_code == 401


def test_lifterlms_students_are_every_user_unless_roles_is_given(sb, wp):
    """LifterLMS lists all users as students (its `roles` filter has no default), as the source needs:
    a customer enrolled through a WooCommerce purchase does not get the student role."""
    everyone = wp.get(rest(sb, "llms/v1/students"), params={"per_page": 100}).json()
    only = wp.get(rest(sb, "llms/v1/students"), params={"per_page": 100, "roles": "student"}).json()
    with sb.site.lock:
        users = sorted(sb.site.users)
        students = sorted(u.id for u in sb.site.users.values() if "student" in u.roles)
        admin = next(u.id for u in sb.site.users.values() if "student" not in u.roles)
    assert [u["id"] for u in everyone] == users[:100] and [u["id"] for u in only] == students[:100]
    assert wp.get(rest(sb, f"llms/v1/students/{admin}")).status_code == 200
