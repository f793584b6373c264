"""The release policy (issue 13): new phases get the ladder; phases that exist keep what they
showed — every submission, now at 3 decimals (``full``) — until their organiser changes it.
Submissions scored before the ladder existed were shown, so they count as released."""

from django.db import migrations, models


def released_before_the_ladder(apps, schema_editor):
    Submission = apps.get_model("competitions", "Submission")
    Submission.objects.filter(status="scored").update(released=True)


class Migration(migrations.Migration):

    dependencies = [
        ('competitions', '0013_submission_flags'),
    ]

    operations = [
        migrations.AddField(
            model_name='phase',
            name='release_decimals',
            field=models.PositiveSmallIntegerField(default=3, help_text='Decimals of every value participants and the public see (pages, API, downloads). At most 3; fewer is coarser. Organisers always see exact values.'),
        ),
        migrations.AddField(
            model_name='phase',
            name='release_policy',
            field=models.CharField(choices=[('ladder', 'Ladder: release a submission only when it is significantly better'), ('full', "Full: release every submission's public scores")], default='full', help_text="Ladder (recommended): a submission's public scores are shown only when it beats the person's best released submission significantly. Full: every submission's public scores are shown — labels can then be read back from the feedback (rounding stops the precision probe, not differencing two submissions nor counting probes); choose it only for a practice phase.", max_length=8),
        ),
        migrations.AlterField(
            model_name='phase',
            name='release_policy',
            field=models.CharField(choices=[('ladder', 'Ladder: release a submission only when it is significantly better'), ('full', "Full: release every submission's public scores")], default='ladder', help_text="Ladder (recommended): a submission's public scores are shown only when it beats the person's best released submission significantly. Full: every submission's public scores are shown — labels can then be read back from the feedback (rounding stops the precision probe, not differencing two submissions nor counting probes); choose it only for a practice phase.", max_length=8),
        ),
        migrations.AddField(
            model_name='submission',
            name='ladder',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='submission',
            name='release_note',
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name='submission',
            name='released',
            field=models.BooleanField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name='phase',
            constraint=models.CheckConstraint(condition=models.Q(('release_decimals__lte', 3)), name='release_decimals_at_most_3'),
        ),
        migrations.AddConstraint(
            model_name='phase',
            constraint=models.CheckConstraint(condition=models.Q(('release_policy__in', ['ladder', 'full'])), name='release_policy_valid'),
        ),
        migrations.RunPython(released_before_the_ladder, migrations.RunPython.noop),
    ]
