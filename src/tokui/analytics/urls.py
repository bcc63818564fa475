from django.urls import path

from tokui.analytics import basket_views, goal_views, prediction_views, repeat_views, report_views, views

app_name = "analytics"
urlpatterns = [
    path("rfm/", views.rfm_overview, name="rfm"),
    path("rfm/settings/", views.rfm_settings, name="rfm_settings"),
    path("sales/", report_views.sales_analysis, name="sales"),
    path("rankings/", report_views.rankings, name="rankings"),
    path("basket/", basket_views.basket_analysis, name="basket"),
    path("repeat/", repeat_views.repeat_analysis, name="repeat"),
    path("repeat/prediction/", prediction_views.prediction, name="prediction"),
    path("goals/", goal_views.goals, name="goals"),
]
