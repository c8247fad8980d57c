"""Page routes: the planner (GET /), place suggestions, the language switch and the base map.

The planner is one GET form: the URL holds the whole question, so a result can be bookmarked or
sent to a colleague. HTMX swaps only the results on submit; without script the page reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from kervan.errors import InvalidRequestError, NoRouteError, UnknownPlaceError
from kervan.network.model import CargoUnit, Mode, Network
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner
from kervan.web.common import (
    CSRF_FIELD,
    check_csrf,
    language_of,
    local_path,
    render,
    secure_headers,
    templates,
)
from kervan.web.corridor_map import HEIGHT, WIDTH, base_map_svg, map_view
from kervan.web.i18n import COOKIE, LANGUAGES, Locale
from kervan.web.planner_form import PlannerForm, parse_form

router = APIRouter(include_in_schema=False)

COOKIE_MAX_AGE = 365 * 24 * 3600
PLAN_COLOURS = 5  # plan-1 .. plan-5 in the stylesheet; more plans reuse them


@dataclass(frozen=True)
class PlanError:
    """A planning failure told in the page's language."""

    message: str
    suggestions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


def planner_of(request: Request) -> Planner:
    planner: Planner = request.app.state.planner
    return planner


def planner_years(network: Network) -> range:
    """The network years the planner offers (reference year to the last planned opening + 1)."""
    last = max((link.opens_year or 0 for link in network.links.values()), default=0)
    return range(network.reference_year, max(network.reference_year, last) + 2)


def _plan(planner: Planner, form: PlannerForm, loc: Locale) -> tuple[list[Plan], PlanError | None]:
    try:
        return planner.plan(form.to_request()), None
    except UnknownPlaceError as exc:
        message = loc.t("error.unknown_place", query=exc.query)
        return [], PlanError(message, suggestions=tuple(exc.suggestions))
    except NoRouteError as exc:
        message = loc.t("error.no_route", origin=exc.origin, destination=exc.destination)
        return [], PlanError(message, reasons=tuple(exc.reasons))
    except InvalidRequestError as exc:
        return [], PlanError(loc.t("error.invalid", detail=str(exc)))


def arrival(departure: date | None, hours: float) -> date | None:
    """The arrival day after `hours` in transit from `departure` (None without a departure)."""
    return departure + timedelta(hours=hours) if departure else None


@router.get("/", response_class=HTMLResponse)
def planner_page(request: Request) -> Response:
    """The route planner: the form, the corridor map and, when asked, the plans."""
    planner = planner_of(request)
    network = planner.network
    loc = language_of(request)
    years = planner_years(network)
    form = parse_form(
        request.query_params,
        {k: request.query_params.getlist(k) for k in ("avoid_country", "avoid_mode")},
        known_countries=frozenset(network.countries()),
        years=years,
    )
    plans: list[Plan] = []
    error: PlanError | None = None
    if form.ready:
        plans, error = _plan(planner, form, loc)
    view = map_view(
        network,
        plans,
        mode_names={m.value: loc.t(f"mode.{m.value}") for m in Mode},
        planned_label=loc.t("map.planned_opens"),
        route_label=loc.t("plan.name"),
        avoid_countries=form.avoid_countries,
        leg_label=loc.t("map.leg"),
        number=loc.number,
    )
    countries = sorted(network.countries(), key=lambda c: loc.t(f"country.{c}"))
    context = {
        "form": form,
        "plans": plans,
        "error": error,
        "map": view,
        "map_width": WIDTH,
        "map_height": HEIGHT,
        "plan_colours": PLAN_COLOURS,
        "units": list(CargoUnit),
        "objectives": list(Objective),
        "modes": list(Mode),
        "countries": countries,
        "years": list(years),
        "default_year": network.reference_year,
        "arrival": arrival,
    }
    return render(request, "planner.html", context)


@router.get("/web/places", response_class=HTMLResponse)
def place_suggestions(
    request: Request,
    field: Annotated[Literal["origin", "destination"], Query()],
    origin: Annotated[str, Query(max_length=100)] = "",
    destination: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Suggestions for what was typed in the origin or destination box (an HTML fragment)."""
    typed = (origin if field == "origin" else destination).strip()
    nodes = planner_of(request).places.search(typed, 8) if typed else []
    loc = language_of(request)
    options = [
        {
            "id": node.id,
            "name": node.name,
            "detail": ", ".join(
                [loc.t(f"country.{node.country}"), *(loc.t(f"kind.{k.value}") for k in node.kinds)]
            ),
        }
        for node in nodes
    ]
    context = {"loc": loc, "field": field, "options": options, "typed": typed}
    return secure_headers(templates.TemplateResponse(request, "_suggestions.html", context))


@router.post("/web/language")
def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=5)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> RedirectResponse:
    """Keep the chosen language in a cookie and go back to the page it was chosen on."""
    check_csrf(request, csrf)
    target = next_url if local_path(next_url) else "/"
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=True)
    return response


@router.get("/web/map/countries.svg")
def country_outlines() -> Response:
    """The map's country outlines (Natural Earth via world-atlas) as one cacheable SVG."""
    return Response(
        base_map_svg(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


__all__ = ["PLAN_COLOURS", "arrival", "planner_years", "router"]
