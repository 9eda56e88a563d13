"""Scores, ranks and 环比 under the year's weights (考核细则), the month close (定稿) and the year view."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from oversight import figures
from oversight.actions import OversightError, close_month
from oversight.models import AssessmentRule, AuditLog, MonthClose

from .conftest import NOW, at, make_conversation
from .test_figures import OCTOBER, by_name

DASHBOARD = reverse("admin:oversight_assessment_changelist")
CLOSE = reverse("admin:oversight_assessment_close")
YEAR = reverse("admin:oversight_assessment_year")


def test_default_weights_give_hand_computed_scores_and_ranks(october):
    report = figures.compute(OCTOBER, now=at(NOW))
    insurance = by_name(report.windows, "社会保险")
    # 20×0.75 + 20×0.5 + 15×0.0308 + 15×0.6667 + 10×0.5 + 10×0.75 + 5×0.6 + 5×1.0, out of all 100 points.
    assert insurance["score"] == 55.96
    # 治安户籍 has no offline question: 按期办结率 (20 points) is left out and the rest scaled to 100.
    # (20×1 + 15×0.0056 + 15×0 + 10×1 + 10×1 + 5×1 + 5×1) ÷ 80 × 100
    household = by_name(report.windows, "治安户籍")
    assert household["score"] == pytest.approx(62.605, abs=0.006)
    jobs = by_name(report.windows, "就业")
    assert jobs["score"] == 0.0  # only the duty coverage (0) has a value
    assert [household["rank"], insurance["rank"], jobs["rank"]] == [1, 2, 3]
    assert by_name(report.departments, "省公安厅")["rank"] == 1


def test_the_years_rule_changes_the_score(october):
    AssessmentRule.objects.create(
        year=2026,
        answer_rate=100,
        on_time_rate=0,
        duty_coverage=0,
        satisfied_rate=0,
        live_rate=0,
        direct_rate=0,
        rated_share=0,
        one_time_rate=0,
    )
    report = figures.compute(OCTOBER, now=at(NOW))
    assert by_name(report.windows, "社会保险")["score"] == 75.0
    assert by_name(report.windows, "治安户籍")["score"] == 100.0
    jobs = by_name(report.windows, "就业")
    assert jobs["score"] is None and jobs["rank"] is None  # no question, so no answer rate to score


def test_rule_whose_weights_do_not_add_up_is_refused(client, supervisor):
    supervisor.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_assessmentrule", "view_assessmentrule"])
    )
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:oversight_assessmentrule_add"),
        {
            "year": 2026,
            "answer_rate": 50,
            "on_time_rate": 20,
            "duty_coverage": 15,
            "satisfied_rate": 15,
            "live_rate": 10,
            "direct_rate": 10,
            "rated_share": 5,
            "one_time_rate": 5,
            "note": "",
        },
    )
    assert response.status_code == 200
    assert "各项权重合计应为 100，当前合计 130" in response.content.decode()
    assert not AssessmentRule.objects.exists()


def test_month_on_month_change_per_measure(october):
    report = figures.report_for(OCTOBER, now=at(NOW))
    insurance = by_name(report.windows, "社会保险")
    # September: one valid question answered live (c_sep), so answer and live rates were 100 %.
    assert insurance["answer_rate_change"] == -0.25
    assert insurance["live_rate_change"] == -0.5
    assert insurance["on_time_rate_change"] is None  # no offline question in September


def grant_close(user):
    user.user_permissions.add(Permission.objects.get(codename="add_monthclose"))


def test_closed_month_ignores_a_late_answer_and_shows_it_as_late_change(client, supervisor, october):
    grant_close(supervisor)
    client.force_login(supervisor)
    response = client.post(CLOSE, {"month": "2026-10"})
    assert response.status_code == 302
    close = MonthClose.objects.get()
    assert close.closed_by_name == supervisor.username
    assert AuditLog.objects.filter(action="close_month", object_id="2026-10").count() == 1

    # A late answer to c6 and a new rated question after the close.
    c6 = october["c6"]
    c6.first_response_at = at("2026-11-20 09:00")
    c6.save(update_fields=["first_response_at"])
    make_conversation(
        october["insurance"],
        officer=october["a"],
        question_at="2026-10-28 09:00",
        response_at="2026-10-28 09:01",
        rating=1,
    )

    frozen = figures.report_for(OCTOBER)
    insurance = by_name(frozen.windows, "社会保险")
    assert frozen.from_snapshot and frozen.month_close == close
    assert (insurance["answered"], insurance["answer_rate"], insurance["score"]) == (6, 0.75, 55.96)
    assert frozen.total["conversations"] == 12
    live = by_name(figures.compute(OCTOBER).windows, "社会保险")
    assert live["answered"] == 8

    html = client.get(DASHBOARD, {"month": "2026-10"}).content.decode()
    assert "已定稿" in html and "定稿后变动" in html
    assert "55.96" in html


def test_month_cannot_be_closed_twice_or_before_it_ends(october, supervisor):
    close_month(period=OCTOBER, actor=supervisor, now=at(NOW))
    with pytest.raises(OversightError, match="已经定稿"):
        close_month(period=OCTOBER, actor=supervisor, now=at(NOW))
    with pytest.raises(OversightError, match="尚未结束"):
        close_month(period=OCTOBER, actor=supervisor, now=at("2026-10-31 12:00"))


def test_close_needs_the_permission(client, supervisor, october):
    client.force_login(supervisor)
    assert client.post(CLOSE, {"month": "2026-10"}).status_code == 403
    assert not MonthClose.objects.exists()
    grant_close(supervisor)
    response = client.post(CLOSE, {"month": "2026-99"}, follow=True)
    assert "没有这个月份" in response.content.decode()


def test_year_view_shows_months_and_annual_score(client, supervisor, october):
    close_month(period=OCTOBER, actor=supervisor, now=at(NOW))
    client.force_login(supervisor)
    response = client.get(YEAR, {"year": "2026"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "年度得分" in html and "省公安厅" in html and "定稿" in html
    assert client.get(YEAR, {"year": "abc"}).status_code == 200


def test_annual_score_is_the_mean_of_ended_months_with_questions(october, supervisor):
    from oversight import dashboard

    close_month(period=OCTOBER, actor=supervisor, now=at(NOW))
    context = dashboard.year_context(2026, now=at(NOW))
    police = next(row for row in context["rows"] if row["department"].name == "省公安厅")
    by_month = {cell["month"].first.month: cell for cell in police["cells"]}
    assert by_month[1]["score"] is None  # nobody asked anything in January: no score, not 0
    assert by_month[10]["closed"] and by_month[10]["score"] == pytest.approx(62.6, abs=0.01)
    # September (c_sep was asked at 社会保险) and the frozen October count; November is still running here.
    assert by_month[9]["score"] == 0.0  # 治安户籍 had duty hours and nobody online
    assert police["months"] == 2 and police["annual"] == pytest.approx((62.6 + 0.0) / 2, abs=0.01)


def test_the_information_centers_group_may_close_a_month_from_the_dashboard(client, october):
    from tests import factories

    supervisor = factories.supervisor()  # in the 信息中心 group, as every supervisor account is
    client.force_login(supervisor)
    html = client.get(DASHBOARD, {"month": "2026-10"}).content.decode()
    assert "未定稿" in html and "确认定稿2026年10月" in html
    response = client.post(CLOSE, {"month": "2026-10"}, follow=True)
    assert "2026年10月考核已定稿" in response.content.decode()
    assert MonthClose.objects.filter(closed_by=supervisor).exists()
