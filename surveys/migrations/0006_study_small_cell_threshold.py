# The study page (Studies issue, item 4): the study's export threshold becomes its one
# small-cell threshold — the answer summaries, the funnel and the export — and the export log
# names the response browser among the ways individual data were read.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0005_study_export_controls"),
    ]

    operations = [
        migrations.AlterField(
            model_name="exportlog",
            name="via",
            field=models.CharField(
                choices=[
                    ("web", "Export download"),
                    ("command", "Export command"),
                    ("contacts", "Contact list"),
                    ("browse", "Responses viewed"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="export_min_group",
            field=models.PositiveSmallIntegerField(
                default=5,
                help_text=(
                    "Smallest group the study lets stand, everywhere: on the study page a count "
                    "of fewer people (in the answer summaries, the funnel and retention) is "
                    "withheld, and so are cells that would give it away by subtraction; in the "
                    "export a participant whose combination of quasi-identifiers (joined week, "
                    "team size, submissions, rank band, arm, demographic answers) is shared by "
                    "fewer people has values withheld until it is not."
                ),
                validators=[django.core.validators.MinValueValidator(2)],
                verbose_name="small-cell threshold",
            ),
        ),
    ]
