"""modelport.routing"""
