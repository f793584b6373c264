# Re-identification controls of the research export (issue 14, item 5): the study's smallest
# group and its opt-ins to finer activity fields, the question flags the export's types,
# measurement levels and k-anonymity check read, and what each export released.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0004_studyevent"),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="export_min_group",
            field=models.PositiveSmallIntegerField(
                default=5,
                help_text=(
                    "Smallest group the export lets stand: a participant whose combination of "
                    "quasi-identifiers (joined week, team size, submissions, rank band, arm, "
                    "demographic answers) is shared by fewer people has values withheld until "
                    "it is not."
                ),
                validators=[django.core.validators.MinValueValidator(2)],
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="export_exact_joined_at",
            field=models.BooleanField(
                default=False,
                help_text="Export the join time to the second instead of the ISO week.",
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="export_exact_team_size",
            field=models.BooleanField(
                default=False,
                help_text="Export the team's number of members instead of 1 / 2+.",
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="export_exact_submissions",
            field=models.BooleanField(
                default=False,
                help_text="Export the number of submissions instead of its band.",
            ),
        ),
        migrations.AddConstraint(
            model_name="study",
            constraint=models.CheckConstraint(
                condition=models.Q(("export_min_group__gte", 2)),
                name="study_export_min_group_at_least_2",
            ),
        ),
        migrations.AddField(
            model_name="question",
            name="whole_number",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "A number question that takes whole numbers only (a count): exported as an "
                    "integer."
                ),
            ),
        ),
        migrations.AddField(
            model_name="question",
            name="ordered",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "The options of a single choice are in order (e.g. age bands): exported as "
                    "ordinal. Likert items and grids are always ordinal."
                ),
            ),
        ),
        migrations.AddField(
            model_name="question",
            name="quasi_identifier",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "A demographic answer that, combined with others, could single a person "
                    "out: counted in the export's smallest-group check and withheld in groups "
                    "that are too small."
                ),
            ),
        ),
        migrations.AddField(
            model_name="exportlog",
            name="exact_fields",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="exportlog",
            name="k",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportlog",
            name="min_group",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
    ]
