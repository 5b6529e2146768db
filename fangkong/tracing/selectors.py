"""Reads of cases, investigations and contacts, scoped to the user's jurisdiction."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from fangkong.core.models import User
from fangkong.core.scope import get_scoped, scoped
from fangkong.tracing.models import Case, Category, Contact, ContactStatus, InvestigationClock


def cases_for(user: User, *, query: str = "") -> QuerySet[Case]:
    cases = scoped(Case.objects.select_related("person", "division"), user)
    if query:
        cases = cases.filter(Q(number__icontains=query) | Q(person__name__contains=query) | Q(cluster=query))
    return cases.annotate(
        close_count=Count(
            "contacts", filter=Q(contacts__category=Category.CLOSE, contacts__status=ContactStatus.CONFIRMED)
        ),
        secondary_count=Count(
            "contacts", filter=Q(contacts__category=Category.SECONDARY, contacts__status=ContactStatus.CONFIRMED)
        ),
    )


def access_case(user: User, case_id: int) -> Case:
    return get_scoped(Case.objects.select_related("person", "division", "source_case"), user, pk=case_id)


def access_contact(user: User, contact_id: int) -> Contact:
    return get_scoped(Contact.objects.select_related("case", "person"), user, pk=contact_id)


def contacts_of(case: Case) -> QuerySet[Contact]:
    return case.contacts.select_related("person", "via__person").order_by("category", "status", "id")


def clocks_of(case: Case) -> QuerySet[InvestigationClock]:
    return case.clocks.all()


def overdue_clocks(user: User) -> QuerySet[InvestigationClock]:
    from django.utils import timezone

    return scoped(InvestigationClock.objects.select_related("case"), user).filter(
        done_at__isnull=True, due_at__lt=timezone.now()
    )


def chain_graph(user: User, *, person_query: str = "") -> dict[str, Any]:
    """Cases, their confirmed contacts and who infected whom, as nodes and links for an ECharts graph.
    With a person query, only the clusters that person belongs to (as case or contact)."""
    cases = scoped(Case.objects.select_related("person", "source_case"), user)
    if person_query:
        hits = cases.filter(Q(person__name__contains=person_query) | Q(number__icontains=person_query))
        via_contacts = scoped(Contact.objects.all(), user).filter(person__name__contains=person_query)
        clusters = set(hits.values_list("cluster", flat=True)) | set(
            via_contacts.values_list("case__cluster", flat=True)
        )
        cases = cases.filter(cluster__in=clusters)
    case_list = list(cases[:500])
    contacts = list(
        scoped(Contact.objects.select_related("person", "via"), user)
        .filter(case__in=case_list, status=ContactStatus.CONFIRMED)
        .order_by("id")[:5000]
    )
    generation: dict[int, int] = {}
    by_id = {c.pk: c for c in case_list}

    def depth(case: Case) -> int:
        if case.pk not in generation:
            parent = by_id.get(case.source_case_id or -1)
            generation[case.pk] = 0 if parent is None or parent.pk == case.pk else depth(parent) + 1
        return generation[case.pk]

    nodes: list[dict[str, Any]] = [
        {
            "id": f"case-{c.pk}",
            "name": f"{c.number} {c.person.name}",
            "category": 0,
            "generation": depth(c),
            "cluster": c.cluster,
            "symbolSize": 28,
        }
        for c in case_list
    ]
    links: list[dict[str, str]] = [
        {"source": f"case-{c.source_case_id}", "target": f"case-{c.pk}", "kind": "infection"}
        for c in case_list
        if c.source_case_id in by_id
    ]
    for contact in contacts:
        node_id = f"contact-{contact.pk}"
        nodes.append(
            {
                "id": node_id,
                "name": contact.person.name,
                "category": 1 if contact.category == Category.CLOSE else 2,
                "symbolSize": 14 if contact.category == Category.CLOSE else 9,
            }
        )
        source = f"contact-{contact.via_id}" if contact.via_id else f"case-{contact.case_id}"
        links.append({"source": source, "target": node_id, "kind": contact.category})
    return {"nodes": nodes, "links": links}
