"""modelport.dashboard"""
