"""Authors and their books."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    year = models.PositiveIntegerField()

    class Meta:
        ordering = ("year", "title")

    def __str__(self) -> str:
        return f"{self.title} ({self.year})"
