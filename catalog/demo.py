"""The demo catalog, derived from the seed documents (shared/seeds).

- 000 (engineering handbook): students get email and push, employers email; "API sends" by campaign id
  (legacy Activity-related student emails, student push, one employer email, listed in
  iterable_template.rb) versus custom event + journey; the Student - US project.
- 001/002 (marketing handbook): the DRI roles, the two journeys, the two custom events with their data
  fields, and the subscription schema with its rule: never use "Marketing Message".

The same data seeds the catalog (manage.py seed_demo) and the emulator (manage.py emulator_seed), so the
demo's catalog and its Iterable agree. Owners are teams, not people.
"""

from typing import Any

# Rows of mixed JSON-like values; each reader knows its keys.
Row = dict[str, Any]

STUDENT = "Student - US"
EMPLOYER = "Employer - US"

PROJECTS: list[Row] = [
    {"name": STUDENT, "data_center": "US", "api_key_env": "ITERABLE_API_KEY_STUDENT_US", "iterable_project_id": 2158},
    {"name": EMPLOYER, "data_center": "US", "api_key_env": "ITERABLE_API_KEY_EMPLOYER_US", "iterable_project_id": 2171},
]

# The subscription schema table of seed 001/002, per project, plus push channels for student push.
EMAIL_SCHEMA: dict[str, list[Row]] = {
    "channels": [
        {"iterable_id": 1, "name": "Marketing Channel", "channel_type": "Marketing", "medium": "Email"},
        {"iterable_id": 2, "name": "Transactional Channel", "channel_type": "Transactional", "medium": "Email"},
    ],
    "message_types": [
        {
            "iterable_id": 11,
            "name": "GitLab Marketing",
            "channel": 1,
            "policy": "OptIn",
            "notes": "This is the main message type used in templates and email",
        },
        {
            "iterable_id": 12,
            "name": "Marketing Message",
            "channel": 1,
            "policy": "OptOut",
            "deprecated": True,
            "notes": "Default message type, will be deleted. Do not use: it is opt-out and can email "
            "people who unsubscribed.",
        },
        {"iterable_id": 13, "name": "Transactional", "channel": 2, "policy": "OptOut", "notes": ""},
    ],
}
PUSH_SCHEMA: dict[str, list[Row]] = {
    "channels": [
        {"iterable_id": 3, "name": "Push Marketing Channel", "channel_type": "Marketing", "medium": "Push"},
        {"iterable_id": 4, "name": "Push Transactional Channel", "channel_type": "Transactional", "medium": "Push"},
    ],
    "message_types": [
        {
            "iterable_id": 14,
            "name": "Push Marketing",
            "channel": 3,
            "policy": "OptIn",
            "notes": "Promotional push to students who opted in on their device",
        },
        {
            "iterable_id": 15,
            "name": "Push Transactional",
            "channel": 4,
            "policy": "OptOut",
            "notes": "Push about the student's own activity",
        },
    ],
}
SCHEMAS: dict[str, dict[str, list[Row]]] = {
    STUDENT: {k: EMAIL_SCHEMA[k] + PUSH_SCHEMA[k] for k in ("channels", "message_types")},
    EMPLOYER: EMAIL_SCHEMA,
}

OWNERS: list[Row] = [
    {
        "name": "Lifecycle Marketing",
        "role": "business",
        "email": "lifecycle-marketing@example.com",
        "slack_channel": "#ask-retention-notifications",
    },
    {
        "name": "Notifications Platform",
        "role": "technical",
        "email": "notifications-platform@example.com",
        "slack_channel": "#notifications-platform",
    },
    {
        "name": "Marketing Campaigns",
        "role": "campaigns",
        "email": "marketing-campaigns@example.com",
        "slack_channel": "#marketing-campaigns",
    },
    {
        "name": "Employer Growth",
        "role": "business",
        "email": "employer-growth@example.com",
        "slack_channel": "#employer-growth",
    },
]


def _fields(signup_reason: str, state: str, user_role: str) -> list[Row]:
    rows = [
        ("company", "Fictional Company", "String", True),
        ("companyNamespace", "true", "Boolean", False),
        ("country", "United States", "String", False),
        ("employeeBucket", "1-99", "String", False),
        ("firstName", "John", "String", True),
        ("lastName", "Doe", "String", False),
        ("latest_trial_start_date", "2023-06-11", "Date", True),
        ("signupReason", signup_reason, "String", False),
        ("state", state, "String", False),
        ("userRole", user_role, "String", False),
    ]
    return [
        {"name": name, "example": example, "data_type": data_type, "required": required, "position": i}
        for i, (name, example, data_type, required) in enumerate(rows)
    ]


CUSTOM_EVENTS: dict[str, list[Row]] = {
    EMPLOYER: [
        {
            "name": "SaaS Trials",
            "source_system": "CustomersDot via Workato",
            "description": "A user signed up for a SaaS trial. Sent from CustomersDot to Workato and then to "
            "Iterable; the data fields segment users in journeys.",
            "fields": _fields("I want to explore GitLab", "OR", "product_designer"),
        },
    ],
    STUDENT: [
        {
            "name": "SaaS Free Registration",
            "source_system": "CustomersDot via Workato",
            "description": "A user signed up for a free account and chose to set it up for a team or company. "
            "Personal signups are not sent.",
            "fields": _fields("I want to use GitLab CI", "Alabama", "other"),
        },
    ],
}

JOURNEYS: dict[str, list[Row]] = {
    EMPLOYER: [
        {
            "iterable_id": 361081,
            "name": "SaaS Trial Onboarding + Post",
            "folder": "SaaS Trial Onboarding + Post",
            "link": "https://app.iterable.com/workflows/361081/edit?mode=beta&workflowType=Published",
            "trigger_event_names": ["SaaS Trials"],
            "state": "enabled",
        },
    ],
    STUDENT: [
        {
            "iterable_id": 361094,
            "name": "Free User + Invited Onboarding",
            "folder": "Free User + Invited Onboarding",
            "link": "https://app.iterable.com/workflows?folderId=68331&page=1",
            "trigger_event_names": ["SaaS Free Registration"],
            "state": "enabled",
        },
    ],
}

# (key, name, medium, message type, status, campaign id, template id, owners, tags, description)
_LEGACY = "app/models/iterable_template.rb"
_NMS = "Next::Notifications::IterableApi"
_MONOLITH = "Iterable::IterableApi"
BUSINESS, TECH, CAMPAIGNS, EMPLOYER_BIZ = (
    ("Lifecycle Marketing", "business"),
    ("Notifications Platform", "technical"),
    ("Marketing Campaigns", "campaigns"),
    ("Employer Growth", "business"),
)

API_SENDS: dict[str, list[tuple[Any, ...]]] = {
    STUDENT: [
        (
            "student_activity_weekly_digest",
            "Weekly activity digest",
            "Email",
            "GitLab Marketing",
            "active",
            410001,
            [510001, 510002],
            [BUSINESS, TECH, CAMPAIGNS],
            ["activity", "digest"],
            "Weekly summary of new jobs, events and messages; two template variants.",
        ),
        (
            "student_activity_application_viewed",
            "Application viewed by employer",
            "Email",
            "Transactional",
            "active",
            410002,
            [510003],
            [BUSINESS, TECH],
            ["activity"],
            "An employer opened the student's application.",
        ),
        (
            "student_activity_new_message",
            "New message received",
            "Email",
            "Transactional",
            "active",
            410003,
            [510004],
            [TECH],
            ["activity", "messaging"],
            "Someone sent the student a message.",
        ),
        (
            "student_activity_event_reminder",
            "Event reminder",
            "Email",
            "Transactional",
            "active",
            410004,
            [510005],
            [BUSINESS, TECH],
            ["activity", "events"],
            "The day before an event the student RSVPed to.",
        ),
        (
            "student_activity_jobs_for_you",
            "Jobs for you",
            "Email",
            "GitLab Marketing",
            "active",
            410005,
            [510006],
            [BUSINESS, CAMPAIGNS],
            ["activity", "recommendations"],
            "Recommended jobs.",
        ),
        (
            "student_activity_profile_nudge",
            "Complete your profile",
            "Email",
            "GitLab Marketing",
            "active",
            410006,
            [510007],
            [BUSINESS],
            ["activity", "profile"],
            "Nudge to finish the profile.",
        ),
        (
            "student_activity_interview_scheduled",
            "Interview scheduled",
            "Email",
            "Transactional",
            "active",
            410007,
            [510008],
            [TECH],
            ["activity", "interviews"],
            "An employer scheduled an interview.",
        ),
        (
            "student_activity_application_status",
            "Application status changed",
            "Email",
            "Transactional",
            "active",
            410008,
            [510009],
            [BUSINESS, TECH],
            ["activity"],
            "The status of an application changed.",
        ),
        (
            "student_activity_career_fair_invite",
            "Career fair invitation",
            "Email",
            "GitLab Marketing",
            "active",
            410009,
            [510010],
            [BUSINESS, CAMPAIGNS],
            ["activity", "events"],
            "Invitation to a fair.",
        ),
        (
            "student_activity_saved_job_closing",
            "Saved job closing soon",
            "Email",
            "Transactional",
            "draft",
            None,
            [510011],
            [TECH],
            ["activity"],
            "A saved job closes in two days. Campaign not created yet.",
        ),
        (
            "student_push_new_message",
            "Push: new message",
            "Push",
            "Push Transactional",
            "active",
            420001,
            [520001],
            [TECH],
            ["push", "messaging"],
            "Push for a new message.",
        ),
        (
            "student_push_application_update",
            "Push: application update",
            "Push",
            "Push Transactional",
            "active",
            420002,
            [520002],
            [BUSINESS, TECH],
            ["push"],
            "Push when an application changes status.",
        ),
        (
            "student_push_event_starting",
            "Push: event starting",
            "Push",
            "Push Transactional",
            "active",
            420003,
            [520003],
            [TECH],
            ["push", "events"],
            "Push an hour before an event.",
        ),
        (
            "student_push_job_recommendation",
            "Push: job recommendation",
            "Push",
            "Push Marketing",
            "active",
            420004,
            [520004],
            [BUSINESS, CAMPAIGNS],
            ["push", "recommendations"],
            "A recommended job.",
        ),
        (
            "student_push_employer_viewed_profile",
            "Push: employer viewed profile",
            "Push",
            "Push Marketing",
            "active",
            420005,
            [520005],
            [BUSINESS],
            ["push", "profile"],
            "An employer looked at the profile.",
        ),
        (
            "student_push_interview_reminder",
            "Push: interview reminder",
            "Push",
            "Push Transactional",
            "active",
            420006,
            [520006],
            [TECH],
            ["push", "interviews"],
            "Push before an interview.",
        ),
        (
            "student_push_weekly_goals",
            "Push: weekly goals",
            "Push",
            "Push Marketing",
            "deprecated",
            420007,
            [520007],
            [BUSINESS],
            ["push"],
            "Retired in favour of the weekly digest.",
        ),
    ],
    EMPLOYER: [
        (
            "employer_applicant_digest",
            "Daily applicant digest",
            "Email",
            "Transactional",
            "active",
            430001,
            [530001],
            [EMPLOYER_BIZ, TECH],
            ["applicants", "digest"],
            "The one employer email still sent by campaign id.",
        ),
    ],
}

# (key, name, message type, status, template ids, owners, tags, description); all email
EVENT_SENDS: dict[str, list[tuple[Any, ...]]] = {
    STUDENT: [
        (
            "student_free_onboarding_welcome",
            "Free user: welcome",
            "GitLab Marketing",
            "active",
            [540001],
            [BUSINESS, CAMPAIGNS],
            ["onboarding"],
            "First email of the Free User + Invited Onboarding journey.",
        ),
        (
            "student_free_onboarding_day3",
            "Free user: day 3 tips",
            "GitLab Marketing",
            "active",
            [540002],
            [BUSINESS, CAMPAIGNS],
            ["onboarding"],
            "Getting started tips.",
        ),
        (
            "student_free_onboarding_invite_team",
            "Free user: invite your team",
            "GitLab Marketing",
            "active",
            [540003],
            [BUSINESS, CAMPAIGNS],
            ["onboarding"],
            "Encourages inviting teammates.",
        ),
        (
            "student_free_onboarding_account_ready",
            "Free user: account ready",
            "Transactional",
            "active",
            [540004],
            [TECH],
            ["onboarding"],
            "Confirms the team account is set up.",
        ),
        (
            "student_free_onboarding_day7",
            "Free user: day 7 check-in",
            "GitLab Marketing",
            "draft",
            [540005],
            [],
            ["onboarding"],
            "Being written; no owner yet.",
        ),
    ],
    EMPLOYER: [
        (
            "employer_trial_welcome",
            "Trial: welcome",
            "Transactional",
            "active",
            [550001],
            [EMPLOYER_BIZ, TECH],
            ["trial", "onboarding"],
            "Sent when the SaaS Trials event arrives.",
        ),
        (
            "employer_trial_day2_setup",
            "Trial: set up your pipeline",
            "GitLab Marketing",
            "active",
            [550002],
            [EMPLOYER_BIZ, CAMPAIGNS],
            ["trial"],
            "Day 2 setup help.",
        ),
        (
            "employer_trial_day7_tips",
            "Trial: day 7 tips",
            "GitLab Marketing",
            "active",
            [550003],
            [EMPLOYER_BIZ, CAMPAIGNS],
            ["trial"],
            "Feature tips by user role.",
        ),
        (
            "employer_trial_ending_soon",
            "Trial: ending soon",
            "Transactional",
            "active",
            [550004],
            [EMPLOYER_BIZ, TECH],
            ["trial"],
            "Three days before the trial ends.",
        ),
        (
            "employer_trial_expired",
            "Trial: expired",
            "Transactional",
            "active",
            [550005],
            [EMPLOYER_BIZ, TECH],
            ["trial"],
            "The trial has ended.",
        ),
        (
            "employer_trial_post_conversion",
            "Trial: welcome to paid",
            "GitLab Marketing",
            "active",
            [550006],
            [EMPLOYER_BIZ, CAMPAIGNS],
            ["trial", "post"],
            "After the trial converts.",
        ),
        (
            "employer_trial_feedback_survey",
            "Trial: feedback survey",
            "GitLab Marketing",
            "draft",
            [550007],
            [EMPLOYER_BIZ],
            ["trial", "survey"],
            "Survey a week after the trial; copy under review.",
        ),
    ],
}


def templates_for(project: str) -> list[Row]:
    """Every catalog template of a project, derived from the notifications that use them."""
    found = []
    for key, name, medium, message_type, _status, campaign_id, template_ids, *_ in API_SENDS[project]:
        for i, template_id in enumerate(template_ids):
            found.append(
                {
                    "iterable_id": template_id,
                    "name": name + (f" (variant {'AB'[i]})" if len(template_ids) > 1 else ""),
                    "medium": medium,
                    "message_type": message_type,
                    "campaign_id": campaign_id,
                    "client_template_id": key,
                }
            )
    for key, name, message_type, _status, template_ids, *_ in EVENT_SENDS[project]:
        for template_id in template_ids:
            found.append(
                {
                    "iterable_id": template_id,
                    "name": name,
                    "medium": "Email",
                    "message_type": message_type,
                    "campaign_id": None,
                    "client_template_id": key,
                }
            )
    return found


def notifications_for(project: str) -> list[Row]:
    audience = "students" if project == STUDENT else "employers"
    found = []
    for key, name, medium, message_type, status, campaign_id, template_ids, owners, tags, description in API_SENDS[
        project
    ]:
        found.append(
            {
                "key": key,
                "name": name,
                "description": description,
                "audience": audience,
                "medium": medium,
                "trigger_type": "api_send",
                "campaign_id": campaign_id,
                "event": None,
                "journey": None,
                "message_type": message_type,
                "status": status,
                "templates": template_ids,
                "owners": owners,
                "tags": tags,
                "code_location": _LEGACY if medium == "Email" else _NMS,
            }
        )
    event = CUSTOM_EVENTS[project][0]["name"]
    journey = JOURNEYS[project][0]["iterable_id"]
    for key, name, message_type, status, template_ids, owners, tags, description in EVENT_SENDS[project]:
        found.append(
            {
                "key": key,
                "name": name,
                "description": description,
                "audience": audience,
                "medium": "Email",
                "trigger_type": "custom_event",
                "campaign_id": None,
                "event": event,
                "journey": journey,
                "message_type": message_type,
                "status": status,
                "templates": template_ids,
                "owners": owners,
                "tags": tags,
                "code_location": _MONOLITH,
            }
        )
    return found


# Iterable-side extras of the demo: things Iterable has that the catalog does not declare.
LISTS: dict[str, list[Row]] = {
    STUDENT: [{"id": 7001, "name": "Student newsletter"}, {"id": 7002, "name": "Career fair attendees"}],
    EMPLOYER: [{"id": 7101, "name": "Employer product updates"}],
}
# The violation for later features to find: an Iterable template on "Marketing Message", claimed by
# no catalog entry.
FORBIDDEN_TEMPLATES: dict[str, list[Row]] = {
    STUDENT: [
        {
            "templateId": 599001,
            "name": "Legacy newsletter (Marketing Message)",
            "messageType": "Marketing Message",
            "messageMedium": "Email",
            "templateType": "Base",
        }
    ],
    EMPLOYER: [],
}
DEMO_CONTACTS = {STUDENT: 240, EMPLOYER: 120}
TEST_RECIPIENTS = {
    STUDENT: [("qa.student@example.com", "qa-student-1"), ("qa.student.push@example.com", "qa-student-2")],
    EMPLOYER: [("qa.employer@example.com", "qa-employer-1")],
}
